import { ContractRoute, InternalCallerGuard, ZodPipe } from '@meterkeep/service-runtime';
import { PSK_PROOFS_CHECK, type PskProofRequest } from '@meterkeep/contracts';
import { Body, Controller, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CheckPskProofUseCase } from './check-psk-proof.use-case';

/**
 * INTERNAL, service to service (bootstrap only), not for operators and not behind the API-key guard:
 * served on the internal listener (mutual TLS with the platform CA), the caller named by its
 * certificate. Nothing it receives or holds is logged. The route is PSK_PROOFS_CHECK of libs/contracts.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalCallerGuard)
@Controller()
export class PskProofsController {
  constructor(private readonly checkProof: CheckPskProofUseCase) {}

  @ContractRoute(PSK_PROOFS_CHECK)
  check(@Body(new ZodPipe(PSK_PROOFS_CHECK.request)) body: PskProofRequest) {
    return this.checkProof.execute(body);
  }
}
