import { Module, type OnModuleInit } from '@nestjs/common';
import { CrlPublisher } from './crl-publisher';
import { CrlController } from './crl.controller';
import { DecommissionCertificatesUseCase } from './decommission-certificates.use-case';
import { DeviceLifecycleConsumer } from './device-lifecycle.consumer';
import { GetCrlUseCase } from './get-crl.use-case';
import { IssuedCertificatesRepository } from './issued-certificates.repository';
import {
  RevokeDeviceCertificatesUseCase,
  startRevocationCounterAtZero,
} from './revoke-device-certificates.use-case';

@Module({
  controllers: [CrlController, DeviceLifecycleConsumer],
  providers: [
    IssuedCertificatesRepository,
    CrlPublisher,
    GetCrlUseCase,
    RevokeDeviceCertificatesUseCase,
    DecommissionCertificatesUseCase,
  ],
  exports: [IssuedCertificatesRepository, DecommissionCertificatesUseCase],
})
export class CertificatesModule implements OnModuleInit {
  onModuleInit(): void {
    startRevocationCounterAtZero();
  }
}
