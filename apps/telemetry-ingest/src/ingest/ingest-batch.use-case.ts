import { Inject, Injectable } from '@nestjs/common';
import {
  type MeterEvent,
  type MeterReading,
  type RejectedItem,
  TELEMETRY_READINGS,
  TELEMETRY_REJECTED,
  type TelemetryBatchAnswer,
  type TelemetryBatchEnvelope,
  telemetryBatch,
} from '@meterkeep/contracts';
import { type OutgoingRecord, contractRecord } from '@meterkeep/kafka';
import type { Logger } from '@meterkeep/observability';
import { readingEventId, sealReadings } from '@meterkeep/reading-seal';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { DeviceDirectory } from '@meterkeep/device-directory';
import { DirectorySync } from '@meterkeep/device-directory/nest';
import { type Sender, authorizeSender } from '../auth/authorize-sender';
import type { TelemetryIngestConfig } from '../config';
import { KeyRing } from '../data-keys/key-ring';
import { keyFor } from '../data-keys/meter-keys';
import { AdmissionGate, directoryView, saturated } from './admission';
import { IngestErrors, verdictRefusal } from './ingest.errors';
import { batchReceiptHeaders } from './batch-receipt';
import { DedupeStore, type ItemsByDay, dayOf } from './dedupe-store';
import { type CheckedItem, type ItemRefusal, checkBatchItems } from './reading-rules';
import { countBatchItems } from './ingest-metrics';
import { ReadingsWriter } from './readings-writer';

type Item = CheckedItem<MeterReading> | CheckedItem<MeterEvent>;

/**
 * Takes one batch from a meter or gateway: checks who may post it, checks each item, recognises a
 * replay and items already received, seals what is new under the data key of the occupancy it
 * belongs to, writes sealed readings and rejections in one Kafka transaction, and answers only after
 * that committed.
 */
@Injectable()
export class IngestBatchUseCase {
  constructor(
    private readonly directory: DeviceDirectory,
    private readonly sync: DirectorySync,
    private readonly keys: KeyRing,
    private readonly dedupe: DedupeStore,
    private readonly writer: ReadingsWriter,
    private readonly gate: AdmissionGate,
    @Inject(CONFIG) private readonly config: TelemetryIngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(sender: Sender, body: unknown, now = new Date()): Promise<TelemetryBatchAnswer> {
    const batch = parseBatch(body);
    const meterId = batch.meterId ?? sender.endpointName;
    const view = directoryView(this.directory, this.sync, sender.tenantId);
    const verdict = authorizeSender(sender, meterId, view, now.getTime());
    if (!verdict.ok) throw verdictRefusal(verdict);

    const size = batch.readings.length + batch.events.length;
    if (!this.gate.tryReadings(size)) throw saturated();
    try {
      return await this.ingest(sender.tenantId, meterId, batch, now);
    } finally {
      this.gate.releaseReadings(size);
    }
  }

  private async ingest(
    tenantId: string,
    meterId: string,
    batch: TelemetryBatchEnvelope,
    now: Date,
  ): Promise<TelemetryBatchAnswer> {
    const checked = checkBatchItems(batch.readings, batch.events, {
      now,
      maxClockSkewMs: this.config.TELEMETRY_MAX_CLOCK_SKEW_MS,
      maxAgeMs: this.config.TELEMETRY_DEDUPE_WINDOW_MS,
    });
    const items: Item[] = [...checked.readings, ...checked.events];
    const byDay = groupByDay(items);
    const claimedAt = Date.now();
    const claim = await this.dedupe.claim(tenantId, meterId, batch.batchId, byDay, obisCodesOf(items));
    if (claim.kind === 'replay') return { ...claim.answer, replayed: true };
    try {
      const rejected: ItemRefusal[] = [...checked.rejected];
      const admitted = items.filter((item) => {
        if (item.section !== 'readings' || !claim.refusedObis.has((item.item as MeterReading).obis))
          return true;
        rejected.push(obisLimitReached(item, this.config.TELEMETRY_MAX_OBIS_PER_METER));
        return false;
      });
      const fresh = admitted.filter((item) => !claim.alreadySeen.has(item.identity));
      const sealed = await this.seal(tenantId, meterId, batch.batchId, fresh, rejected, now);
      const answer: TelemetryBatchAnswer = {
        batchId: batch.batchId,
        meterId,
        accepted: sealed.accepted.length,
        duplicates: admitted.length - fresh.length,
        rejected: rejected.sort((a, b) =>
          a.section === b.section ? a.index - b.index : a.section < b.section ? -1 : 1,
        ),
        replayed: false,
      };
      const records: OutgoingRecord[] = [
        ...sealed.records,
        ...rejected.map((item) => rejectionRecord(tenantId, meterId, batch.batchId, item, now)),
      ];
      // The first record carries the answer: a restarted replica learns from Kafka which batches it
      // wrote but could not record in Redis (see BatchRecovery).
      if (records[0])
        records[0] = {
          ...records[0],
          headers: batchReceiptHeaders(this.config.TELEMETRY_INSTANCE_ID, tenantId, answer),
        };
      // The lock (TELEMETRY_LOCK_TTL_MS) outlives a write that starts within half of it and then
      // commits within the transaction timeout: no other writer may take this meter meanwhile.
      await this.writer.write(
        records,
        claimedAt + this.config.TELEMETRY_LOCK_TTL_MS / 2 - this.config.TELEMETRY_TRANSACTION_TIMEOUT_MS,
      );
      countBatchItems(
        sealed.accepted,
        admitted.filter((item) => claim.alreadySeen.has(item.identity)),
        rejected,
      );
      await this.remember(tenantId, meterId, batch.batchId, sealed.accepted, claim.lock, answer);
      return answer;
    } catch (error) {
      await this.dedupe.release(tenantId, meterId, claim.lock);
      throw error;
    }
  }

  /** One sealed record per data key the batch's items fall under; items of an erased occupancy are refused. */
  private async seal(
    tenantId: string,
    meterId: string,
    batchId: string,
    fresh: Item[],
    rejected: ItemRefusal[],
    now: Date,
  ): Promise<{ records: OutgoingRecord[]; accepted: Item[] }> {
    if (fresh.length === 0) return { records: [], accepted: [] };
    const meterKeys = await this.keys.keysOf(tenantId, meterId);
    const groups = new Map<string, { key: Buffer; readings: MeterReading[]; events: MeterEvent[] }>();
    const accepted: Item[] = [];
    for (const item of fresh) {
      const choice = keyFor(meterKeys, item.at);
      if (!choice.ok) {
        rejected.push({
          section: item.section,
          index: item.index,
          code: 'OCCUPANCY_ERASED',
          reason: 'the occupancy this reading belongs to was erased; its data is no longer accepted',
        });
        continue;
      }
      let group = groups.get(choice.key.keyId);
      if (!group) groups.set(choice.key.keyId, (group = { key: choice.key.key, readings: [], events: [] }));
      if (item.section === 'readings') group.readings.push(item.item as MeterReading);
      else group.events.push(item.item as MeterEvent);
      accepted.push(item);
    }
    const records = [...groups].map(([keyId, group]) => {
      const context = { eventId: readingEventId(tenantId, meterId, batchId, keyId), tenantId, meterId };
      const envelope = sealReadings(
        { batchId, readings: group.readings, events: group.events },
        { keyId, key: group.key },
        context,
      );
      return contractRecord(TELEMETRY_READINGS, { ...context, occurredAt: now.toISOString(), ...envelope });
    });
    return { records, accepted };
  }

  /** Written to Kafka already: a failure here costs de-duplication of a replay, never the readings. */
  private async remember(
    tenantId: string,
    meterId: string,
    batchId: string,
    accepted: readonly Item[],
    lock: string,
    answer: TelemetryBatchAnswer,
  ): Promise<void> {
    const byDay = groupByDay(accepted);
    const obisCodes = obisCodesOf(accepted);
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        return await this.dedupe.commit(tenantId, meterId, batchId, byDay, obisCodes, lock, answer);
      } catch (error) {
        if (attempt === 3)
          this.logger.error(
            { err: error, meterId, batchId },
            'written batch not recorded for de-duplication',
          );
      }
    }
  }
}

/** The distinct OBIS codes of the readings among `items`, in order of appearance. */
function obisCodesOf(items: readonly Item[]): string[] {
  return [
    ...new Set(
      items.flatMap((item) => (item.section === 'readings' ? [(item.item as MeterReading).obis] : [])),
    ),
  ];
}

function obisLimitReached(item: Item, limit: number): ItemRefusal {
  return {
    section: item.section,
    index: item.index,
    code: 'OBIS_LIMIT_REACHED',
    reason: `this meter already reports ${limit} distinct OBIS codes (the most kept per meter); this one is refused`,
  };
}

/** Item identities by UTC day: the de-duplication sets they belong to. */
function groupByDay(items: readonly Item[]): ItemsByDay {
  const byDay: ItemsByDay = new Map();
  for (const item of items) {
    const day = dayOf(item.at);
    const list = byDay.get(day);
    if (list) list.push(item.identity);
    else byDay.set(day, [item.identity]);
  }
  return byDay;
}

function parseBatch(body: unknown): TelemetryBatchEnvelope {
  const parsed = telemetryBatch.safeParse(body);
  if (parsed.success) return parsed.data;
  const tooMany = parsed.error.issues.find(
    (issue) => issue.code === 'too_big' && (issue.path[0] === 'readings' || issue.path[0] === 'events'),
  );
  if (tooMany) throw IngestErrors.tooManyItems();
  throw IngestErrors.batchInvalid(
    parsed.error.issues.map((issue) => `${issue.path.join('.') || '(batch)'}: ${issue.message}`),
  );
}

function rejectionRecord(
  tenantId: string,
  meterId: string,
  batchId: string,
  item: RejectedItem,
  now: Date,
): OutgoingRecord {
  return contractRecord(TELEMETRY_REJECTED, {
    eventId: readingEventId(tenantId, meterId, batchId, `rejected:${item.section}:${item.index}`),
    tenantId,
    occurredAt: now.toISOString(),
    meterId,
    batchId,
    section: item.section,
    index: item.index,
    code: item.code,
    reason: item.reason,
  });
}
