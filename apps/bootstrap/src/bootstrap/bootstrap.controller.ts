import {
  ApiRefusals,
  ContractRoute,
  ZodPipe,
  peerCertificateChain,
  sourceAddress,
} from '@meterkeep/service-runtime';
import { Body, Controller, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  CERTIFICATE_BOOTSTRAP,
  CERTIFICATE_RENEWAL,
  type CertificateRequest,
  PSK_BOOTSTRAP,
  PSK_NONCE_ISSUE,
  type PskBootstrapRequest,
  type PskNonceRequest,
} from '@meterkeep/contracts';
import { BootstrapCertificateMeterUseCase } from './bootstrap-certificate-meter.use-case';
import { BootstrapPskMeterUseCase } from './bootstrap-psk-meter.use-case';
import { BOOTSTRAP_ERRORS } from './bootstrap.errors';
import { IssuePskNonceUseCase } from './issue-psk-nonce.use-case';
import { countOnboarding } from './onboarding-metrics';
import { RenewCertificateUseCase } from './renew-certificate.use-case';

/**
 * The device API on the mutual-TLS listener: routes, schemas and refusal codes from the bootstrap
 * device contract in libs/contracts, refusal messages from bootstrap.errors.ts. Thin: it reads the
 * handshake's client chain and the peer address, validates the body, and calls one use case.
 */
@ApiTags('Device bootstrap (mutual TLS)')
@Controller()
export class BootstrapController {
  constructor(
    private readonly certificateMeter: BootstrapCertificateMeterUseCase,
    private readonly pskNonce: IssuePskNonceUseCase,
    private readonly pskMeter: BootstrapPskMeterUseCase,
    private readonly renewal: RenewCertificateUseCase,
  ) {}

  @ApiRefusals(CERTIFICATE_BOOTSTRAP, BOOTSTRAP_ERRORS)
  @ContractRoute(CERTIFICATE_BOOTSTRAP)
  bootstrap(
    @Req() request: Request,
    @Body(new ZodPipe(CERTIFICATE_BOOTSTRAP.request)) body: CertificateRequest,
  ) {
    return countOnboarding(
      'certificate',
      this.certificateMeter.execute({
        peerChain: peerCertificateChain(request.socket),
        source: sourceAddress(request.socket),
        csrPem: body.csrPem,
      }),
    );
  }

  @ApiRefusals(PSK_NONCE_ISSUE, BOOTSTRAP_ERRORS)
  @ContractRoute(PSK_NONCE_ISSUE)
  nonce(@Req() request: Request, @Body(new ZodPipe(PSK_NONCE_ISSUE.request)) body: PskNonceRequest) {
    return this.pskNonce.execute({ pskIdentity: body.pskIdentity, source: sourceAddress(request.socket) });
  }

  @ApiRefusals(PSK_BOOTSTRAP, BOOTSTRAP_ERRORS)
  @ContractRoute(PSK_BOOTSTRAP)
  pskBootstrap(@Req() request: Request, @Body(new ZodPipe(PSK_BOOTSTRAP.request)) body: PskBootstrapRequest) {
    return countOnboarding('psk', this.pskMeter.execute({ ...body, source: sourceAddress(request.socket) }));
  }

  @ApiRefusals(CERTIFICATE_RENEWAL, BOOTSTRAP_ERRORS)
  @ContractRoute(CERTIFICATE_RENEWAL)
  renew(@Req() request: Request, @Body(new ZodPipe(CERTIFICATE_RENEWAL.request)) body: CertificateRequest) {
    return this.renewal.execute({
      peerChain: peerCertificateChain(request.socket),
      source: sourceAddress(request.socket),
      csrPem: body.csrPem,
    });
  }
}
