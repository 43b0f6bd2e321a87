import {
  ApiRefusals,
  ZodPipe,
  openApiSchema,
  peerCertificateChain,
  sourceAddress,
} from '@meterkeep/service-runtime';
import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  BOOTSTRAP_DEVICE_PATHS,
  CERTIFICATE_BOOTSTRAP_REFUSALS,
  type CertificateRequest,
  PSK_BOOTSTRAP_REFUSALS,
  PSK_NONCE_REFUSALS,
  type PskBootstrapRequest,
  type PskNonceRequest,
  RENEWAL_REFUSALS,
  bootstrapAnswer,
  certificateRequest,
  pskBootstrapRequest,
  pskNonceAnswer,
  pskNonceRequest,
} from '@meterkeep/contracts';
import { BootstrapCertificateMeterUseCase } from './bootstrap-certificate-meter.use-case';
import { BootstrapPskMeterUseCase } from './bootstrap-psk-meter.use-case';
import { BOOTSTRAP_ERRORS } from './bootstrap.errors';
import { IssuePskNonceUseCase } from './issue-psk-nonce.use-case';
import { RenewCertificateUseCase } from './renew-certificate.use-case';

const answer = { schema: openApiSchema(bootstrapAnswer) };

/**
 * The device API on the mutual-TLS listener (schemas and refusal codes: the bootstrap device API
 * contract in libs/contracts). Thin: it reads the handshake's client chain and the peer address,
 * validates the body, and calls one use case.
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

  @Post(BOOTSTRAP_DEVICE_PATHS.certificateBootstrap)
  @HttpCode(200)
  @ApiOperation({
    summary: 'Factory certificate in (client certificate + chain), operational certificate out',
  })
  @ApiBody({ schema: openApiSchema(certificateRequest) })
  @ApiOkResponse(answer)
  @ApiRefusals(BOOTSTRAP_ERRORS, CERTIFICATE_BOOTSTRAP_REFUSALS)
  bootstrap(@Req() request: Request, @Body(new ZodPipe(certificateRequest)) body: CertificateRequest) {
    return this.certificateMeter.execute({
      peerChain: peerCertificateChain(request.socket),
      source: sourceAddress(request.socket),
      csrPem: body.csrPem,
    });
  }

  @Post(BOOTSTRAP_DEVICE_PATHS.pskNonce)
  @HttpCode(200)
  @ApiOperation({ summary: 'A single-use nonce (60 s) for a PSK meter' })
  @ApiBody({ schema: openApiSchema(pskNonceRequest) })
  @ApiOkResponse({ schema: openApiSchema(pskNonceAnswer) })
  @ApiRefusals(BOOTSTRAP_ERRORS, PSK_NONCE_REFUSALS)
  nonce(@Req() request: Request, @Body(new ZodPipe(pskNonceRequest)) body: PskNonceRequest) {
    return this.pskNonce.execute({ pskIdentity: body.pskIdentity, source: sourceAddress(request.socket) });
  }

  @Post(BOOTSTRAP_DEVICE_PATHS.pskBootstrap)
  @HttpCode(200)
  @ApiOperation({
    summary: 'PSK identity proven by HMAC over the nonce and the CSR, operational certificate out',
  })
  @ApiBody({ schema: openApiSchema(pskBootstrapRequest) })
  @ApiOkResponse(answer)
  @ApiRefusals(BOOTSTRAP_ERRORS, PSK_BOOTSTRAP_REFUSALS)
  pskBootstrap(@Req() request: Request, @Body(new ZodPipe(pskBootstrapRequest)) body: PskBootstrapRequest) {
    return this.pskMeter.execute({ ...body, source: sourceAddress(request.socket) });
  }

  @Post(BOOTSTRAP_DEVICE_PATHS.renewal)
  @HttpCode(200)
  @ApiOperation({ summary: 'Current operational certificate (client certificate) in, a new one out' })
  @ApiBody({ schema: openApiSchema(certificateRequest) })
  @ApiOkResponse(answer)
  @ApiRefusals(BOOTSTRAP_ERRORS, RENEWAL_REFUSALS)
  renew(@Req() request: Request, @Body(new ZodPipe(certificateRequest)) body: CertificateRequest) {
    return this.renewal.execute({
      peerChain: peerCertificateChain(request.socket),
      source: sourceAddress(request.socket),
      csrPem: body.csrPem,
    });
  }
}
