import {
  INTERNAL_TOKEN_HEADER,
  InternalTokenGuard,
  ZodPipe,
  errorResponse,
  ref,
} from '@meterkeep/service-runtime';
import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { CheckPskProofUseCase } from './check-psk-proof.use-case';
import { PskProofRequestSchema, type PskProofRequest } from './devices.schemas';

/**
 * INTERNAL, service to service (bootstrap), not for operators and not behind the API-key guard:
 * protected by the shared x-internal-token; keep /internal/ off the ingress. Nothing it receives or
 * holds is logged.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalTokenGuard)
@Controller('internal/v1/psk-proofs')
export class PskProofsController {
  constructor(private readonly checkProof: CheckPskProofUseCase) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'INTERNAL: does an HMAC-SHA256 proof come from the holder of this PSK? (bootstrap asks)',
    description: `Needs the ${INTERNAL_TOKEN_HEADER} header (INTERNAL_API_TOKEN). The PSK never leaves the service.`,
  })
  @ApiBody({ schema: ref('PskProofRequest') })
  @ApiOkResponse({ schema: ref('PskProofVerdict') })
  @ApiUnauthorizedResponse(errorResponse(`UNAUTHENTICATED: no valid ${INTERNAL_TOKEN_HEADER}`))
  check(@Body(new ZodPipe(PskProofRequestSchema)) body: PskProofRequest) {
    return this.checkProof.execute(body);
  }
}
