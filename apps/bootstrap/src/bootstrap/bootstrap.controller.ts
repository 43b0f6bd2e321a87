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
  CERTIFICATE_BOOTSTRAP,
  CERTIFICATE_BOOTSTRAP_REFUSALS,
  CERTIFICATE_RENEWAL,
  type CertificateRequest,
  PSK_BOOTSTRAP,
  PSK_BOOTSTRAP_REFUSALS,
  PSK_NONCE_ISSUE,
  PSK_NONCE_REFUSALS,
  type PskBootstrapRequest,
  type PskNonceRequest,
  RENEWAL_REFUSALS,
  bootstrapAnswer,
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

  @Post(CERTIFICATE_BOOTSTRAP.path)
  @HttpCode(200)
  @ApiOperation({ summary: CERTIFICATE_BOOTSTRAP.summary, description: CERTIFICATE_BOOTSTRAP.description })
  @ApiBody({ schema: openApiSchema(CERTIFICATE_BOOTSTRAP.request) })
  @ApiOkResponse(answer)
  @ApiRefusals(BOOTSTRAP_ERRORS, CERTIFICATE_BOOTSTRAP_REFUSALS)
  bootstrap(
    @Req() request: Request,
    @Body(new ZodPipe(CERTIFICATE_BOOTSTRAP.request)) body: CertificateRequest,
  ) {
    return this.certificateMeter.execute({
      peerChain: peerCertificateChain(request.socket),
      source: sourceAddress(request.socket),
      csrPem: body.csrPem,
    });
  }

  @Post(PSK_NONCE_ISSUE.path)
  @HttpCode(200)
  @ApiOperation({ summary: PSK_NONCE_ISSUE.summary, description: PSK_NONCE_ISSUE.description })
  @ApiBody({ schema: openApiSchema(PSK_NONCE_ISSUE.request) })
  @ApiOkResponse({ schema: openApiSchema(PSK_NONCE_ISSUE.responses[200]) })
  @ApiRefusals(BOOTSTRAP_ERRORS, PSK_NONCE_REFUSALS)
  nonce(@Req() request: Request, @Body(new ZodPipe(PSK_NONCE_ISSUE.request)) body: PskNonceRequest) {
    return this.pskNonce.execute({ pskIdentity: body.pskIdentity, source: sourceAddress(request.socket) });
  }

  @Post(PSK_BOOTSTRAP.path)
  @HttpCode(200)
  @ApiOperation({ summary: PSK_BOOTSTRAP.summary, description: PSK_BOOTSTRAP.description })
  @ApiBody({ schema: openApiSchema(PSK_BOOTSTRAP.request) })
  @ApiOkResponse(answer)
  @ApiRefusals(BOOTSTRAP_ERRORS, PSK_BOOTSTRAP_REFUSALS)
  pskBootstrap(@Req() request: Request, @Body(new ZodPipe(PSK_BOOTSTRAP.request)) body: PskBootstrapRequest) {
    return this.pskMeter.execute({ ...body, source: sourceAddress(request.socket) });
  }

  @Post(CERTIFICATE_RENEWAL.path)
  @HttpCode(200)
  @ApiOperation({ summary: CERTIFICATE_RENEWAL.summary, description: CERTIFICATE_RENEWAL.description })
  @ApiBody({ schema: openApiSchema(CERTIFICATE_RENEWAL.request) })
  @ApiOkResponse(answer)
  @ApiRefusals(BOOTSTRAP_ERRORS, RENEWAL_REFUSALS)
  renew(@Req() request: Request, @Body(new ZodPipe(CERTIFICATE_RENEWAL.request)) body: CertificateRequest) {
    return this.renewal.execute({
      peerChain: peerCertificateChain(request.socket),
      source: sourceAddress(request.socket),
      csrPem: body.csrPem,
    });
  }
}
