import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TelemetryReadingEvent } from '@meterkeep/contracts';
import { PermanentEventError, RefusedRecordsError } from '@meterkeep/kafka';
import { KafkaBatchContext } from '@meterkeep/kafka/nest';
import { readingEventId, sealReadings } from '@meterkeep/reading-seal';
import type { DataKeyRow, OccupancyRow } from '../core/database';
import type { DataKeyVault } from '../data-keys/data-key-vault';
import type { ReadingRangesRepository } from '../exports/reading-ranges.repository';
import { ReadingsConsumer } from './readings.consumer';
import type { NewStagedReading, ReleaseRepository } from './release.repository';
import { type SealedRecord, StageReadingsUseCase } from './stage-readings.use-case';

const TENANT = 'tenant-a';
const DAY = 86_400_000;
const FROM = Date.UTC(2026, 0, 1);

interface Meter {
  meterId: string;
  keyId: string;
  key: Buffer;
  occupancyId: string | null;
  erased?: boolean;
}

const meter = (n: number, occupied = true): Meter => ({
  meterId: `MTR-${n}`,
  keyId: `dk-${n}`,
  key: randomBytes(32),
  occupancyId: occupied ? `occ-${n}` : null,
});

/** The meter's day `d` from FROM: one sealed record of 48 half-hourly readings. */
function sealed(m: Meter, d: number): TelemetryReadingEvent {
  const batchId = `b-${d}`;
  const context = {
    eventId: readingEventId(TENANT, m.meterId, batchId, m.keyId),
    tenantId: TENANT,
    meterId: m.meterId,
  };
  const start = FROM + d * DAY;
  const payload = {
    batchId,
    readings: Array.from({ length: 48 }, (_, i) => ({
      obis: '1-0:1.8.0*255',
      intervalStart: new Date(start + i * 1_800_000).toISOString().replace('.000Z', 'Z'),
      intervalMinutes: 30,
      value: i,
      scaler: 0,
      unit: 'Wh' as const,
    })),
    events: [],
  };
  return {
    ...context,
    occurredAt: new Date().toISOString(),
    ...sealReadings(payload, { keyId: m.keyId, key: m.key }, context),
  };
}

/** The use case over fakes that count every look-up, unwrap, transaction and write. */
function harness(meters: Meter[]) {
  const calls = {
    findDataKeys: 0,
    findOccupancies: 0,
    opened: [] as string[],
    transactions: 0,
    staged: [] as { trx: unknown; readings: readonly NewStagedReading[] }[],
    indexed: [] as { trx: unknown; entries: readonly unknown[] }[],
  };
  const keyRow = (m: Meter) =>
    ({
      key_id: m.keyId,
      tenant_id: TENANT,
      meter_id: m.meterId,
      occupancy_id: m.occupancyId,
      wrapped_key: m.erased ? null : Buffer.from('wrapped'),
      kek_epoch: 1,
    }) as DataKeyRow;
  const repository = {
    findDataKeys: (tenantId: string, keyIds: readonly string[]) => {
      calls.findDataKeys++;
      return Promise.resolve(
        meters.filter((m) => tenantId === TENANT && keyIds.includes(m.keyId)).map(keyRow),
      );
    },
    findOccupancies: (tenantId: string, ids: readonly string[]) => {
      calls.findOccupancies++;
      return Promise.resolve(
        meters
          .filter((m) => m.occupancyId !== null && ids.includes(m.occupancyId))
          .map(
            (m) =>
              ({
                occupancy_id: m.occupancyId,
                tenant_id: tenantId,
                meter_id: m.meterId,
                valid_from: new Date(FROM),
                valid_to: null,
                key_id: m.keyId,
              }) as OccupancyRow,
          ),
      );
    },
    database: {
      transaction: () => ({
        execute: async <T>(work: (trx: unknown) => Promise<T>) => {
          calls.transactions++;
          return work({ trx: calls.transactions });
        },
      }),
    },
    stage: (trx: unknown, readings: readonly NewStagedReading[]) => {
      calls.staged.push({ trx, readings });
      return Promise.resolve();
    },
  };
  const vault = {
    open: (row: DataKeyRow) => {
      calls.opened.push(row.key_id);
      const m = meters.find((x) => x.keyId === row.key_id)!;
      return Promise.resolve(Buffer.from(m.key));
    },
  };
  const index = {
    addAll: (trx: unknown, entries: readonly unknown[]) => {
      calls.indexed.push({ trx, entries });
      return Promise.resolve();
    },
  };
  const useCase = new StageReadingsUseCase(
    repository as unknown as ReleaseRepository,
    vault as unknown as DataKeyVault,
    index as unknown as ReadingRangesRepository,
    { PRIVACY_RELEASE_GRACE_S: 0 },
  );
  return { useCase, calls };
}

const at = (event: TelemetryReadingEvent, offset: number): SealedRecord => ({
  event,
  position: { partition: 3, offset },
});

describe('StageReadingsUseCase: a slice of records at a time', () => {
  it('reads the data keys and occupancies once, unwraps each key once, and writes the slice in one transaction', async () => {
    const meters = [meter(1), meter(2)];
    const { useCase, calls } = harness(meters);
    const records = [0, 1, 2].flatMap((d) => meters.map((m, i) => at(sealed(m, d), d * 2 + i)));

    expect(await useCase.execute(records)).toEqual(records.map(() => 'staged'));

    expect(calls.findDataKeys).toBe(1);
    expect(calls.findOccupancies).toBe(1);
    expect(calls.opened.sort()).toEqual(['dk-1', 'dk-2']);
    expect(calls.transactions).toBe(1);
    expect(calls.staged).toHaveLength(1);
    expect(calls.staged[0]!.readings).toHaveLength(records.length * 48);
    expect(calls.indexed).toHaveLength(1);
    expect(calls.indexed[0]!.entries).toHaveLength(records.length);
    // The index and the readings in the same transaction: both or neither.
    expect(calls.indexed[0]!.trx).toBe(calls.staged[0]!.trx);
  });

  it('a record under an unknown key refuses the slice before anything is written, naming that record with its reason; the rest stages as one slice', async () => {
    const known = meter(1);
    const forged = { ...sealed(meter(9), 0), keyId: 'dk-unknown' };
    const records = [at(sealed(known, 0), 0), at(forged, 1), at(sealed(known, 1), 2)];
    const { useCase, calls } = harness([known]);

    const refusal = await useCase.execute(records).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RefusedRecordsError);
    expect((refusal as RefusedRecordsError).refused).toEqual([
      { index: 1, reason: expect.stringMatching(/^unknown-key: dk-unknown/) },
    ]);
    expect(calls.transactions).toBe(0);

    // What the consumer does with it: the rest again, in one transaction; the named one alone is refused.
    expect(await useCase.execute([records[0]!, records[2]!])).toEqual(['staged', 'staged']);
    expect(calls.transactions).toBe(1);
    await expect(useCase.execute([records[1]!])).rejects.toThrow(PermanentEventError);
    await expect(useCase.execute([records[1]!])).rejects.toThrow(/unknown-key: dk-unknown/);
    expect(calls.staged.flatMap((s) => s.readings)).toHaveLength(2 * 48);
  });

  it('a seal that does not open under its key is refused with seal-invalid', async () => {
    const m = meter(1);
    const event = sealed(m, 0);
    const tampered = { ...event, authTag: Buffer.alloc(16).toString('base64') };
    const { useCase } = harness([m]);
    await expect(useCase.execute([at(tampered, 0)])).rejects.toThrow(/seal-invalid/);
  });

  it("an erased key's record is neither staged nor indexed; a meter key's is indexed, not staged", async () => {
    const erased = { ...meter(1), erased: true };
    const vacant = meter(2, false);
    const { useCase, calls } = harness([erased, vacant]);

    expect(await useCase.execute([at(sealed(erased, 0), 0), at(sealed(vacant, 0), 1)])).toEqual([
      'erased',
      'vacancy',
    ]);
    expect(calls.opened).toEqual(['dk-2']);
    expect(calls.staged.flatMap((s) => s.readings)).toHaveLength(0);
    expect(calls.indexed.flatMap((i) => i.entries)).toEqual([
      {
        place: { tenantId: TENANT, meterId: 'MTR-2', keyId: 'dk-2', partition: 3 },
        record: { offset: 1, readingFrom: FROM, readingTo: FROM + 47 * 1_800_000 + 1 },
      },
    ]);
  });
});

describe('ReadingsConsumer', () => {
  it("is a batch handler: the slice's events go to the use case at once, each with its partition and offset", async () => {
    const metadata = Reflect.getMetadata(
      'microservices:pattern_extras',
      ReadingsConsumer.prototype.onReadings,
    ) as { batch?: boolean } | undefined;
    expect(metadata?.batch).toBe(true);

    const handed: (readonly SealedRecord[])[] = [];
    const consumer = new ReadingsConsumer({
      execute: (records: readonly SealedRecord[]) => {
        handed.push(records);
        return Promise.resolve([]);
      },
    } as unknown as StageReadingsUseCase);
    const m = meter(1);
    const events = [sealed(m, 0), sealed(m, 1)];
    const meta = (offset: string) => ({
      topic: 'telemetry.readings.v1',
      partition: 4,
      offset,
      key: null,
      headers: {},
      timestamp: '0',
      attempt: 1,
    });
    await consumer.onReadings(events, new KafkaBatchContext([[meta('17'), meta('19')]]));
    expect(handed).toEqual([
      [
        { event: events[0], position: { partition: 4, offset: 17 } },
        { event: events[1], position: { partition: 4, offset: 19 } },
      ],
    ]);
  });
});
