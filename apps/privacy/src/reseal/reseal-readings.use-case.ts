import { Inject, Injectable } from '@nestjs/common';
import { TELEMETRY_READINGS, type TelemetryReadingEvent } from '@meterkeep/contracts';
import { EventProducer, type KafkaClient, readKeyedRecords } from '@meterkeep/kafka';
import { KAFKA_CLIENT } from '@meterkeep/kafka/nest';
import type { Logger } from '@meterkeep/observability';
import { openReadings, readingEventId, sealReadings } from '@meterkeep/reading-seal';
import { LOGGER } from '@meterkeep/service-runtime';
import type { DataKeyRow, ResealJobRow } from '../core/database';
import { DataKeyVault } from '../data-keys/data-key-vault';
import { parseJson } from '../erasures/readings-inventory';
import { type KeyPeriod, planReseal } from './reseal-plan';
import { ResealJobsRepository, type ResealOutcome } from './reseal-jobs.repository';

/**
 * A reading is written by the ingest no earlier than its time minus the clock skew it allows (at most
 * an hour, TELEMETRY_MAX_CLOCK_SKEW_MS): records written before `from` minus this hold nothing from
 * `from` on, and the job does not read them.
 */
export const MAX_INGEST_CLOCK_SKEW_MS = 3_600_000;
/** The longest an ingest replica keeps a meter's keys (TELEMETRY_KEY_CACHE_TTL_S at most 3600). */
export const MAX_INGEST_KEY_CACHE_MS = 3_600_000;
const PUBLISH_CHUNK = 100;

/**
 * One re-seal job: reads back the meter's records on telemetry.readings.v1 written since the change
 * could matter, opens those whose reading-time bounds reach `from` (records without bounds are opened
 * to see), and re-seals every item from `from` on that is under a key no longer its own (by reading
 * time, as ingest would choose it now) under the right one: the next occupant's, or the meter's for
 * time nobody occupied. Each is republished with `supersedes` naming the record it came from, and an
 * event id derived from that record and the new key, so a job run again (a crash, another change of the
 * same meter) republishes nothing twice. Records that are themselves re-seals are not sources: the
 * original stays the one to re-seal from. A record under a destroyed key (erased) cannot be opened and
 * is left as it is.
 */
@Injectable()
export class ResealReadingsUseCase {
  constructor(
    private readonly jobs: ResealJobsRepository,
    private readonly vault: DataKeyVault,
    private readonly producer: EventProducer,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(job: ResealJobRow, now = new Date()): Promise<ResealOutcome> {
    const { tenant_id: tenantId, meter_id: meterId } = job;
    const from = job.reseal_from.getTime();
    const records: TelemetryReadingEvent[] = [];
    const report = await readKeyedRecords(
      this.kafka,
      TELEMETRY_READINGS.name,
      `${tenantId}/${meterId}`,
      ({ value }) => {
        const parsed = TELEMETRY_READINGS.schema.safeParse(parseJson(value));
        if (parsed.success && parsed.data.meterId === meterId && parsed.data.tenantId === tenantId)
          records.push(parsed.data);
      },
      { groupPrefix: 'privacy-reseal', sinceMs: from - MAX_INGEST_CLOCK_SKEW_MS },
    );
    // A partial read could miss a record: fail, and the job is tried again.
    if (!report.complete) throw new Error('the meter’s partition was not read to its end');

    const seen = new Set(records.map((r) => r.eventId));
    const keyRows = new Map((await this.jobs.keysOfMeter(tenantId, meterId)).map((k) => [k.key_id, k]));
    const meterKey = await this.vault.meterKey(tenantId, meterId);
    keyRows.set(meterKey.key_id, meterKey);
    const occupancies: KeyPeriod[] = (await this.jobs.occupanciesOfMeter(tenantId, meterId)).map((o) => ({
      keyId: o.key_id,
      from: o.valid_from.getTime(),
      to: o.valid_to?.getTime() ?? null,
      live: keyRows.get(o.key_id)?.wrapped_key != null,
    }));

    const plain = new Map<string, Buffer>();
    const open = async (row: DataKeyRow) => {
      let key = plain.get(row.key_id);
      if (!key) plain.set(row.key_id, (key = await this.vault.open(row)));
      return key;
    };
    const outgoing: TelemetryReadingEvent[] = [];
    let itemsResealed = 0;
    let unopenable = 0;
    try {
      for (const source of records) {
        if (source.supersedes) continue;
        if (source.intervalTo !== undefined && Date.parse(source.intervalTo) < from) continue;
        const row = keyRows.get(source.keyId);
        if (!row || row.wrapped_key === null) {
          unopenable += 1;
          continue;
        }
        let payload;
        try {
          payload = openReadings(source, await open(row));
        } catch {
          unopenable += 1;
          continue;
        }
        const plan = planReseal(payload, source.keyId, from, occupancies, meterKey.key_id);
        for (const group of plan.groups) {
          const eventId = readingEventId(tenantId, meterId, `reseal:${source.eventId}`, group.keyId);
          if (seen.has(eventId)) continue;
          seen.add(eventId);
          const target = keyRows.get(group.keyId);
          if (!target) throw new Error(`no data key ${group.keyId} for the meter`);
          const context = { eventId, tenantId, meterId };
          const envelope = sealReadings(
            { batchId: payload.batchId, readings: group.readings, events: group.events },
            { keyId: group.keyId, key: await open(target) },
            context,
          );
          outgoing.push({
            ...context,
            occurredAt: now.toISOString(),
            ...envelope,
            supersedes: [source.eventId],
          });
          itemsResealed += envelope.readingCount;
        }
      }
    } finally {
      for (const key of plain.values()) key.fill(0);
    }
    for (let i = 0; i < outgoing.length; i += PUBLISH_CHUNK)
      await this.producer.publishMany(TELEMETRY_READINGS, outgoing.slice(i, i + PUBLISH_CHUNK));
    this.logger.info(
      {
        jobId: job.job_id,
        meterId,
        recordsScanned: records.length,
        recordsResealed: outgoing.length,
        itemsResealed,
        unopenable,
      },
      're-seal job done',
    );
    return { recordsScanned: records.length, recordsResealed: outgoing.length, itemsResealed };
  }
}
