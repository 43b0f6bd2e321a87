import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { TELEMETRY_READINGS, telemetryReadingEvent } from '@meterkeep/contracts';
import type { KafkaClient } from '@meterkeep/kafka';
import { openReadings } from '@meterkeep/reading-seal';
import type { DataKeyRow, PrivacyDb } from '../core/database';
import type { DataKeyVault } from '../data-keys/data-key-vault';
import { RELEASE_FROM_BEGINNING } from '../release/release-group';
import { type IndexedRecord, readingBounds } from './reading-ranges';
import type { ReadingRangesRepository, RecordPlace } from './reading-ranges.repository';

const TOPIC = TELEMETRY_READINGS.name;
/** No record for this long: the partition's end (its last offsets can be transaction markers, never delivered). */
const QUIET_MS = 3_000;

export interface BackfillPartition {
  partition: number;
  /**
   * Where the live indexer (the release group) starts on the partition, fixed when the backfill first
   * ran: its committed offset, or with none the offset its reset policy starts from (the earliest). The
   * live indexer owns the rest; the backfill scans up to here, never beyond.
   */
  stopOffset: number;
  nextOffset: number;
  /** Records the backfill indexed on this partition, over every run. */
  indexed: number;
}

export interface BackfillReport {
  /** Records of the partitions' unscanned stretch read in this run, and those it indexed. */
  scanned: number;
  indexed: number;
  /** Not indexable, as the live indexer leaves them: erased or unknown keys, seals that do not open. */
  skipped: number;
  partitions: BackfillPartition[];
}

/**
 * The readings index's backfill: records of telemetry.readings.v1 consumed before the index existed (or
 * before the release group did) are in no range, so an export misses them. Per partition it scans from
 * its checkpoint (first: the earliest offset) to where the release group starts, fixed when it first ran
 * (the group's committed offset; none: the earliest offset, where its reset policy starts it, so nothing),
 * opens each record as the live indexer does and indexes those no range covers (never across an existing
 * range: ReadingRangesRepository.addBackfilled). Bounded: `batch` records per partition are held (their
 * index entries only, no values) before they are written with the checkpoint in one transaction, which
 * locks the partition's checkpoint row, so two runs never index one stretch twice; a stopped run resumes
 * at its checkpoint. The live indexer only indexes past the stop offsets, so the two never meet.
 */
export class ReadingsIndexBackfill {
  constructor(
    private readonly db: Kysely<PrivacyDb>,
    private readonly kafka: KafkaClient,
    private readonly vault: Pick<DataKeyVault, 'open'>,
    private readonly index: Pick<ReadingRangesRepository, 'addBackfilled'>,
    private readonly options: {
      releaseGroup: string;
      batch: number;
      groupPrefix?: string;
      /** The release group's reset policy: where it starts without a committed offset. */
      releaseFromBeginning?: boolean;
    },
  ) {}

  /** Scans what is left; `rescan` forgets the checkpoints first (and stops where the group starts now). */
  async run({ rescan = false }: { rescan?: boolean } = {}): Promise<BackfillReport> {
    if (rescan) await this.db.deleteFrom('reading_index_backfill').execute();
    const { low } = await this.plan();
    const report: BackfillReport = { scanned: 0, indexed: 0, skipped: 0, partitions: [] };
    const rows = await this.checkpoints();
    // Where each partition's scan is: starts at its checkpoint, or at its earliest offset left.
    const cursor = new Map(
      rows
        .filter((r) => Math.max(r.nextOffset, low.get(r.partition) ?? 0) < r.stopOffset)
        .map((r) => [r.partition, r.nextOffset]),
    );
    if (cursor.size > 0) await this.scan(cursor, rows, low, report);
    report.partitions = await this.checkpoints();
    return report;
  }

  /** The partitions' checkpoints, made at the first run: stop where the release group starts. */
  private async plan(): Promise<{ low: Map<number, number> }> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(TOPIC);
      const [committed] = await admin.fetchOffsets({ groupId: this.options.releaseGroup, topics: [TOPIC] });
      const groupAt = new Map(
        (committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)] as const),
      );
      const fromBeginning = this.options.releaseFromBeginning ?? RELEASE_FROM_BEGINNING;
      const rows = ends.map(({ partition, low, high }) => {
        const at = groupAt.get(partition) ?? -1;
        // No committed offset: the group will read this partition from where its reset policy starts
        // it, the earliest offset, and index all of it itself; scanning it too would index it twice.
        // (A group reset to the latest offset starts at the end when it joins: here only if it joins now.)
        const start = at >= 0 ? at : fromBeginning ? Number(low) : Number(high);
        return { partition, stop_offset: start, next_offset: Number(low) };
      });
      await this.db
        .insertInto('reading_index_backfill')
        .values(rows)
        .onConflict((oc) => oc.column('partition').doNothing())
        .execute();
      return { low: new Map(ends.map((e) => [e.partition, Number(e.low)])) };
    } finally {
      await admin.disconnect();
    }
  }

  private async checkpoints(): Promise<BackfillPartition[]> {
    const rows = await this.db
      .selectFrom('reading_index_backfill')
      .selectAll()
      .orderBy('partition')
      .execute();
    return rows.map((r) => ({
      partition: r.partition,
      stopOffset: Number(r.stop_offset),
      nextOffset: Number(r.next_offset),
      indexed: Number(r.indexed),
    }));
  }

  private async scan(
    cursor: Map<number, number>,
    rows: readonly BackfillPartition[],
    low: ReadonlyMap<number, number>,
    report: BackfillReport,
  ): Promise<void> {
    const stop = new Map(rows.map((r) => [r.partition, r.stopOffset]));
    const pending = new Map<number, { place: RecordPlace; record: IndexedRecord }[]>();
    const read = new Map<number, number>(); // records read since the last flush, per partition
    let keys = new Map<string, Promise<Buffer | undefined>>();
    const flush = async (partition: number, next: number) => {
      const entries = pending.get(partition) ?? [];
      const indexed = await this.db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('reading_index_backfill')
          .select('next_offset')
          .where('partition', '=', partition)
          .forUpdate()
          .executeTakeFirstOrThrow();
        // Another run got here first: what it wrote stands, this stretch is not written twice.
        if (Number(row.next_offset) !== cursor.get(partition))
          throw new Error(`partition ${partition}: another backfill run moved the checkpoint`);
        const added = await this.index.addBackfilled(trx, entries);
        await trx
          .updateTable('reading_index_backfill')
          .set({ next_offset: next, indexed: sql`indexed + ${added}`, updated_at: new Date() })
          .where('partition', '=', partition)
          .execute();
        return added;
      });
      report.indexed += indexed;
      cursor.set(partition, next);
      pending.set(partition, []);
      read.set(partition, 0);
      const used = keys;
      keys = new Map();
      for (const key of used.values()) void key.then((k) => k?.fill(0));
    };
    const keyOf = (row: DataKeyRow) => {
      let key = keys.get(row.key_id);
      if (!key) {
        key = this.vault.open(row).catch(() => undefined);
        keys.set(row.key_id, key);
      }
      return key;
    };
    const entryOf = async (
      partition: number,
      offset: number,
      value: Buffer | null,
    ): Promise<{ place: RecordPlace; record: IndexedRecord } | undefined> => {
      let json: unknown;
      try {
        json = JSON.parse(value?.toString('utf8') ?? '');
      } catch {
        return undefined;
      }
      const parsed = telemetryReadingEvent.safeParse(json);
      if (!parsed.success) return undefined;
      const event = parsed.data;
      const row = await this.db
        .selectFrom('data_keys')
        .selectAll()
        .where('tenant_id', '=', event.tenantId)
        .where('key_id', '=', event.keyId)
        .executeTakeFirst();
      // As the live indexer: an erased or foreign key, or a record that does not open, is not indexed.
      if (!row || row.meter_id !== event.meterId || row.wrapped_key === null) return undefined;
      const key = await keyOf(row);
      if (!key) return undefined;
      let readings;
      try {
        ({ readings } = openReadings(event, key));
      } catch {
        return undefined;
      }
      if (readings.length === 0) return undefined;
      return {
        place: { tenantId: event.tenantId, meterId: event.meterId, keyId: event.keyId, partition },
        record: { offset, ...readingBounds(readings) },
      };
    };

    const consumer = this.kafka.consumer({
      groupId: `${this.options.groupPrefix ?? 'privacy-backfill'}-${randomUUID()}`,
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    const done = new Set<number>();
    let finish: (error?: unknown) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error) =>
        error === undefined
          ? resolve()
          : reject(error instanceof Error ? error : new Error('backfill failed', { cause: error }));
    });
    let busy = false;
    let closing = false;
    let lastActivity = Date.now();
    // Quiet counts only once the group has its partitions: joining takes seconds, reading nothing.
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
      lastActivity = Date.now();
    });
    const position = new Map([...cursor].map(([p, next]) => [p, Math.max(next, low.get(p) ?? 0)]));
    const complete = async (partition: number) => {
      await flush(partition, stop.get(partition)!);
      done.add(partition);
      consumer.pause([{ topic: TOPIC, partitions: [partition] }]);
      if ([...cursor.keys()].every((p) => done.has(p))) finish();
    };
    // A quiet topic: the partitions still open are at their end (their last offsets were markers).
    const quiet = setInterval(() => {
      if (!joined || busy || closing || Date.now() - lastActivity < QUIET_MS) return;
      closing = true;
      void (async () => {
        for (const partition of cursor.keys()) if (!done.has(partition)) await complete(partition);
      })().catch((error: unknown) => finish(error));
    }, 250);
    try {
      await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const partition = batch.partition;
          if (closing) return;
          if (!cursor.has(partition) || done.has(partition)) {
            consumer.pause([{ topic: TOPIC, partitions: [partition] }]);
            return;
          }
          busy = true;
          try {
            const end = stop.get(partition)!;
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              // Read already (delivered again before the seek took effect) or past the stop: not ours.
              if (offset < position.get(partition)! || offset >= end) continue;
              position.set(partition, offset + 1);
              report.scanned += 1;
              read.set(partition, (read.get(partition) ?? 0) + 1);
              const entry = await entryOf(partition, offset, message.value);
              if (entry) {
                const list = pending.get(partition) ?? [];
                list.push(entry);
                pending.set(partition, list);
              } else report.skipped += 1;
              if (read.get(partition)! >= this.options.batch) await flush(partition, offset + 1);
            }
            if (Number(batch.lastOffset()) >= end - 1) await complete(partition);
          } catch (error) {
            finish(error);
          } finally {
            lastActivity = Date.now();
            busy = false;
          }
        },
      });
      for (const [partition, offset] of position)
        consumer.seek({ topic: TOPIC, partition, offset: String(offset) });
      lastActivity = Date.now();
      await finished;
    } finally {
      clearInterval(quiet);
      await consumer.disconnect();
      for (const key of keys.values()) void key.then((k) => k?.fill(0));
    }
  }
}
