import { Module } from '@nestjs/common';
import { CrlPublisher } from './crl-publisher';
import { CrlController } from './crl.controller';
import { DeviceLifecycleConsumer } from './device-lifecycle.consumer';
import { GetCrlUseCase } from './get-crl.use-case';
import { IssuedCertificatesRepository } from './issued-certificates.repository';
import { RevokeDeviceCertificatesUseCase } from './revoke-device-certificates.use-case';

@Module({
  controllers: [CrlController, DeviceLifecycleConsumer],
  providers: [IssuedCertificatesRepository, CrlPublisher, GetCrlUseCase, RevokeDeviceCertificatesUseCase],
  exports: [IssuedCertificatesRepository],
})
export class CertificatesModule {}
