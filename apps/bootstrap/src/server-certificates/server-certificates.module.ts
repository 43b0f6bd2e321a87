import { Module } from '@nestjs/common';
import { InternalCallerGuard } from '@meterkeep/service-runtime';
import { IssueServerCertificateUseCase } from './issue-server-certificate.use-case';
import { ServerCertificatesController } from './server-certificates.controller';

@Module({
  controllers: [ServerCertificatesController],
  providers: [InternalCallerGuard, IssueServerCertificateUseCase],
})
export class ServerCertificatesModule {}
