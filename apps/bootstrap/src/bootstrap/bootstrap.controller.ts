import { ZodPipe, openApiSchema, peerCertificateChain, sourceAddress } from '@meterkeep/service-runtime';
import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { BootstrapCertificateMeterUseCase } from './bootstrap-certificate-meter.use-case';
import { BootstrapPskMeterUseCase } from './bootstrap-psk-meter.use-case';
import {
  BootstrapAnswerSchema,
  type CertificateRequest,
  CertificateRequestSchema,
  type NonceRequest,
  NonceRequestSchema,
  type PskBootstrapRequest,
  PskBootstrapRequestSchema,
} from './bootstrap.schemas';
import { IssuePskNonceUseCase } from './issue-psk-nonce.use-case';
import { RenewCertificateUseCase } from './renew-certificate.use-case';

const answer = { schema: openApiSchema(BootstrapAnswerSchema) };
const refused = {
  description:
    'UNKNOWN_CA, CA_DISABLED, CERTIFICATE_EXPIRED, CERTIFICATE_INVALID, NOT_ENROLLED_HERE, FINGERPRINT_MISMATCH, ' +
    'CSR_SUBJECT_MISMATCH, CSR_KEY_UNSUPPORTED, BAD_PSK_PROOF, NONCE_INVALID, DEVICE_SUSPENDED, ' +
    'DEVICE_DECOMMISSIONED, CERTIFICATE_REVOKED',
};
const tooMany = { description: 'RATE_LIMITED, with Retry-After' };
const notYet = { description: 'NOT_YET_KNOWN (the meter retries after Retry-After), UNAVAILABLE' };

/**
 * The device API on the mutual-TLS listener (see the bootstrap device API contract). Thin: it reads
 * the handshake's client chain and the peer address, validates the body, and calls one use case.
 */
@ApiTags('Device bootstrap (mutual TLS)')
@Controller('bs/v1')
export class BootstrapController {
  constructor(
    private readonly certificateMeter: BootstrapCertificateMeterUseCase,
    private readonly pskNonce: IssuePskNonceUseCase,
    private readonly pskMeter: BootstrapPskMeterUseCase,
    private readonly renewal: RenewCertificateUseCase,
  ) {}

  @Post('bootstrap')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Factory certificate in (client certificate + chain), operational certificate out',
  })
  @ApiBody({ schema: openApiSchema(CertificateRequestSchema) })
  @ApiOkResponse(answer)
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST' })
  @ApiUnauthorizedResponse({ description: 'CLIENT_CERTIFICATE_REQUIRED' })
  @ApiForbiddenResponse(refused)
  @ApiTooManyRequestsResponse(tooMany)
  @ApiServiceUnavailableResponse(notYet)
  bootstrap(@Req() request: Request, @Body(new ZodPipe(CertificateRequestSchema)) body: CertificateRequest) {
    return this.certificateMeter.execute({
      peerChain: peerCertificateChain(request.socket),
      source: sourceAddress(request.socket),
      csrPem: body.csrPem,
    });
  }

  @Post('psk/nonce')
  @HttpCode(200)
  @ApiOperation({ summary: 'A single-use nonce (60 s) for a PSK meter' })
  @ApiBody({ schema: openApiSchema(NonceRequestSchema) })
  @ApiOkResponse({ description: '{ nonce, expiresAt }' })
  @ApiTooManyRequestsResponse(tooMany)
  nonce(@Req() request: Request, @Body(new ZodPipe(NonceRequestSchema)) body: NonceRequest) {
    return this.pskNonce.execute({ pskIdentity: body.pskIdentity, source: sourceAddress(request.socket) });
  }

  @Post('psk/bootstrap')
  @HttpCode(200)
  @ApiOperation({
    summary: 'PSK identity proven by HMAC over the nonce and the CSR, operational certificate out',
  })
  @ApiBody({ schema: openApiSchema(PskBootstrapRequestSchema) })
  @ApiOkResponse(answer)
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST' })
  @ApiForbiddenResponse(refused)
  @ApiTooManyRequestsResponse(tooMany)
  @ApiServiceUnavailableResponse(notYet)
  pskBootstrap(
    @Req() request: Request,
    @Body(new ZodPipe(PskBootstrapRequestSchema)) body: PskBootstrapRequest,
  ) {
    return this.pskMeter.execute({ ...body, source: sourceAddress(request.socket) });
  }

  @Post('renew')
  @HttpCode(200)
  @ApiOperation({ summary: 'Current operational certificate (client certificate) in, a new one out' })
  @ApiBody({ schema: openApiSchema(CertificateRequestSchema) })
  @ApiOkResponse(answer)
  @ApiBadRequestResponse({ description: 'INVALID_REQUEST' })
  @ApiUnauthorizedResponse({ description: 'CLIENT_CERTIFICATE_REQUIRED' })
  @ApiForbiddenResponse(refused)
  @ApiTooManyRequestsResponse(tooMany)
  @ApiServiceUnavailableResponse(notYet)
  renew(@Req() request: Request, @Body(new ZodPipe(CertificateRequestSchema)) body: CertificateRequest) {
    return this.renewal.execute({
      peerChain: peerCertificateChain(request.socket),
      source: sourceAddress(request.socket),
      csrPem: body.csrPem,
    });
  }
}
