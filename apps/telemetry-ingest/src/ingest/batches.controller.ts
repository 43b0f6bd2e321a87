import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import type { TelemetryBatchAnswer } from '@meterkeep/contracts';
import { SenderIdentity } from '../auth/sender-identity';
import { BATCHES_PATH } from './admission';
import { IngestBatchUseCase } from './ingest-batch.use-case';

/** POST /tl/v1/batches on the mutual-TLS listener; the body was read and parsed by batchBodyReader. */
@Controller(BATCHES_PATH.slice(1))
export class BatchesController {
  constructor(
    private readonly identity: SenderIdentity,
    private readonly ingest: IngestBatchUseCase,
  ) {}

  @Post()
  @HttpCode(200)
  post(@Req() request: Request): Promise<TelemetryBatchAnswer> {
    const sender = this.identity.of(request.socket);
    return this.ingest.execute(sender, request.body);
  }
}
