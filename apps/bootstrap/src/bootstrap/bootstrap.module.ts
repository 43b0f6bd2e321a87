import { Module, type OnModuleInit } from '@nestjs/common';
import { CertificatesModule } from '../certificates/certificates.module';
import { BootstrapCertificateMeterUseCase } from './bootstrap-certificate-meter.use-case';
import { BootstrapPskMeterUseCase } from './bootstrap-psk-meter.use-case';
import { BootstrapSessions } from './bootstrap-sessions';
import { BootstrapController } from './bootstrap.controller';
import { DeviceLookup } from './device-lookup';
import { FactoryTrust } from './factory-trust';
import { IssuePskNonceUseCase } from './issue-psk-nonce.use-case';
import { NonceStore } from './nonce-store';
import { startOnboardingCountersAtZero } from './onboarding-metrics';
import { OperationalIssuance } from './operational-issuance';
import { PskProofClient } from './psk-proof.client';
import { RateLimiter } from './rate-limiter';
import { RenewCertificateUseCase } from './renew-certificate.use-case';

@Module({
  imports: [CertificatesModule],
  controllers: [BootstrapController],
  providers: [
    RateLimiter,
    NonceStore,
    BootstrapSessions,
    PskProofClient,
    DeviceLookup,
    FactoryTrust,
    OperationalIssuance,
    BootstrapCertificateMeterUseCase,
    IssuePskNonceUseCase,
    BootstrapPskMeterUseCase,
    RenewCertificateUseCase,
  ],
})
export class BootstrapModule implements OnModuleInit {
  onModuleInit(): void {
    startOnboardingCountersAtZero();
  }
}
