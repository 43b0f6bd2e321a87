import { Inject, Injectable } from '@nestjs/common';
import { TELEMETRY_READINGS, TELEMETRY_REJECTED } from '@meterkeep/contracts';
import { type KafkaClient, readRecentRecords } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { batchReceiptOf } from './batch-receipt';
import { DedupeStore } from './dedupe-store';

/** How far back to look beyond the lock TTL: clock skew between the broker and this host. */
const MARGIN_MS = 120_000;

/**
 * A replica killed after Kafka committed a batch but before Redis recorded it would write that batch
 * again when the meter retries. So, before its device listener opens, a starting replica reads the
 * batch receipts committed in the last lock TTL (a meter's retry cannot be written sooner: its lock
 * holds it off) and records any that Redis lacks. Receipts of every replica are taken: recording one
 * twice is harmless.
 */
@Injectable()
export class BatchRecovery {
  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    private readonly dedupe: DedupeStore,
    @Inject(CONFIG) private readonly config: TelemetryIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async run(): Promise<void> {
    const since = Date.now() - this.config.TELEMETRY_LOCK_TTL_MS - MARGIN_MS;
    const receipts: NonNullable<ReturnType<typeof batchReceiptOf>>[] = [];
    const scanned = await readRecentRecords(
      this.kafka,
      [TELEMETRY_READINGS.name, TELEMETRY_REJECTED.name],
      since,
      (record) => {
        const receipt = batchReceiptOf(record.headers);
        if (receipt) receipts.push(receipt);
      },
      undefined,
      // Our principal may join only groups named after the service.
      'telemetry-ingest',
    );
    let restored = 0;
    for (const { tenantId, answer } of receipts)
      if (await this.dedupe.restore(tenantId, answer.meterId, answer.batchId, answer)) restored += 1;
    this.logger.info({ scanned, receipts: receipts.length, restored }, 'batch receipts recovered from Kafka');
  }
}
