import { Controller, Req } from '@nestjs/common';
import type { Request } from 'express';
import { TELEMETRY_BATCH_POST, type TelemetryBatchAnswer } from '@meterkeep/contracts';
import { ContractRoute } from '@meterkeep/service-runtime';
import { SenderIdentity } from '../auth/sender-identity';
import { IngestBatchUseCase } from './ingest-batch.use-case';

/**
 * POST /tl/v1/batches (TELEMETRY_BATCH_POST) on the mutual-TLS listener; the body was read and
 * parsed by batchBodyReader, and the use case checks it against the contract.
 */
@Controller()
export class BatchesController {
  constructor(
    private readonly identity: SenderIdentity,
    private readonly ingest: IngestBatchUseCase,
  ) {}

  @ContractRoute(TELEMETRY_BATCH_POST)
  post(@Req() request: Request): Promise<TelemetryBatchAnswer> {
    const sender = this.identity.of(request.socket);
    return this.ingest.execute(sender, request.body);
  }
}
