import { Module } from '@nestjs/common';
import { InternalTokenGuard } from '@meterkeep/service-runtime';
import { IssueServerCertificateUseCase } from './issue-server-certificate.use-case';
import { ServerCertificatesController } from './server-certificates.controller';

@Module({
  controllers: [ServerCertificatesController],
  providers: [InternalTokenGuard, IssueServerCertificateUseCase],
})
export class ServerCertificatesModule {}
