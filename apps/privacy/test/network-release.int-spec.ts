// Network operators on the real stack (spec §4.2, issue #14): cell totals only, from raw Kafka. A cell of
// 15 meters gives one total per half-hour; 14 meters, or one meter above 15 % of the cell, give nothing,
// and leave no record; no per-meter value reaches telemetry.released.v1 for the dno.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SealedReadings,
  TELEMETRY_READINGS,
  TELEMETRY_RELEASED,
  TELEMETRY_RELEASED_AGGREGATES,
  type TelemetryReadingEvent,
  type TelemetryReleasedAggregateEvent,
} from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { readingEventId, sealReadings } from '@meterkeep/reading-seal';
import { startGroupAtEnd } from '@meterkeep/testing';
import { DataKeyVault } from '../src/data-keys/data-key-vault';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka, waitUntil } from './privacy-test-kit';

const HALF_HOUR = 1_800_000;
/** A year whose 10 February has passed: the windows are closed and inside the look-back. */
const YEAR = (() => {
  const now = new Date();
  return now.getTime() >= Date.UTC(now.getUTCFullYear(), 1, 11)
    ? now.getUTCFullYear()
    : now.getUTCFullYear() - 1;
})();
const FIRST = Date.parse(`${YEAR}-02-10T12:00:00Z`);

describe('privacy: network operators get cell totals only', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let producer: EventProducer;
  let aggregates: TopicTap;
  let released: TopicTap;
  let tenantId: string;
  let operator: string;
  let auditor: string;
  const run = randomBytes(4).toString('hex');
  const meter = (cell: string, n: number) => `MTR-NW-${run}-${cell}-${n}`;

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    const kafka = testKafka();
    const groupId = `privacy-network-it-${run}`;
    await startGroupAtEnd(kafka, groupId, TELEMETRY_READINGS.name);
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      env: {
        PRIVACY_RELEASE_INTERVAL_MS: '200',
        PRIVACY_RELEASE_GRACE_S: '2',
        PRIVACY_RELEASE_LOOKBACK_DAYS: '500',
      },
      release: { groupId, maxWaitTimeInMs: 100 },
    });
    ({ tenantId } = await enrollment.tenant());
    operator = await enrollment.key(tenantId, 'operator');
    auditor = await enrollment.key(tenantId, 'auditor');
    producer = new EventProducer({ kafka, contracts: [TELEMETRY_READINGS] });
    await producer.connect();
    [aggregates, released] = await Promise.all([
      TopicTap.open(kafka, TELEMETRY_RELEASED_AGGREGATES),
      TopicTap.open(kafka, TELEMETRY_RELEASED),
    ]);
  });
  afterAll(async () => {
    await Promise.all([aggregates, released].map((tap) => tap?.close()));
    await producer?.disconnect();
    await h?.stop();
    await enrollment?.stop();
  });

  /** An occupancy from 1 January, and one sealed record of its meter's readings: `wh` per half-hour. */
  const household = async (meterId: string, halfHours: number, wh: number) => {
    const opened = await h.request<{ occupancyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: { meterId, subjectRef: `hh-${meterId}`, from: `${YEAR}-01-01T00:00:00.000Z` },
    });
    expect(opened.status, opened.text).toBe(201);
    const { occupancyId } = opened.body;
    const row = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirstOrThrow();
    const key = await h.service.app.get(DataKeyVault).open(row);
    const batchId = `b-${meterId}`;
    const payload: SealedReadings = {
      batchId,
      readings: Array.from({ length: halfHours }, (_, i) => ({
        obis: '1-0:1.29.0*255',
        intervalStart: new Date(FIRST + i * HALF_HOUR).toISOString().replace('.000Z', 'Z'),
        intervalMinutes: 30,
        value: wh,
        scaler: 0,
        unit: 'Wh' as const,
      })),
      events: [],
    };
    const context = { eventId: readingEventId(tenantId, meterId, batchId, row.key_id), tenantId, meterId };
    const event: TelemetryReadingEvent = {
      ...context,
      occurredAt: new Date().toISOString(),
      ...sealReadings(payload, { keyId: row.key_id, key }, context),
    };
    return { occupancyId, event };
  };

  const assign = (cellId: string, meterIds: string[], key = operator) =>
    h.request<Record<string, unknown>>('PUT', `/v1/network-cells/${cellId}`, {
      key,
      json: { kind: 'feeder', meterIds },
    });

  it('15 meters: one total per half-hour; 14 meters or one dominant meter: nothing, and no record', async () => {
    const cells = {
      [`feeder-${run}-a`]: Array.from({ length: 15 }, (_, n) => ({ meterId: meter('a', n), wh: 200 + n })),
      [`feeder-${run}-b`]: Array.from({ length: 14 }, (_, n) => ({ meterId: meter('b', n), wh: 200 })),
      // 14 meters of 200 Wh and one of 600: 600 / 3,400 ≈ 17.6 % of the cell.
      [`feeder-${run}-c`]: Array.from({ length: 15 }, (_, n) => ({
        meterId: meter('c', n),
        wh: n === 0 ? 600 : 200,
      })),
    };
    const households = [];
    for (const members of Object.values(cells))
      for (const { meterId, wh } of members) households.push(await household(meterId, 2, wh));
    await producer.publishMany(
      TELEMETRY_READINGS,
      households.map((x) => x.event),
    );
    // Every reading staged before the cells exist: the first network pass sees each window whole.
    const occupancyIds = households.map((x) => x.occupancyId);
    await waitUntil(
      async () => {
        const { count } = await h.db
          .selectFrom('release_readings')
          .select((eb) => eb.fn.countAll<string>().as('count'))
          .where('occupancy_id', 'in', occupancyIds)
          .executeTakeFirstOrThrow();
        return Number(count) === occupancyIds.length * 2;
      },
      { description: 'every reading staged', timeoutMs: 30_000 },
    );
    for (const [cellId, members] of Object.entries(cells)) {
      const response = await assign(
        cellId,
        members.map((m) => m.meterId),
      );
      expect(response.status, response.text).toBe(200);
      expect(response.body).toMatchObject({
        cellId,
        kind: 'feeder',
        meterIds: members.map((m) => m.meterId).sort(),
      });
    }

    const ofTenant = (r: { json: Record<string, unknown> }) => r.json.tenantId === tenantId;
    const records = await aggregates.waitFor(ofTenant, 2, 'cell totals', 30_000);
    // Decided past both windows: the suppressed cells had their chance.
    await waitUntil(
      async () => {
        const row = await h.db
          .selectFrom('network_release_progress')
          .select('decided_until')
          .where('tenant_id', '=', tenantId)
          .executeTakeFirst();
        return (row?.decided_until.getTime() ?? 0) >= FIRST + 2 * HALF_HOUR;
      },
      { description: 'windows decided', timeoutMs: 30_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const all = aggregates.records.filter(ofTenant);
    expect(all).toHaveLength(2);
    const sumA = cells[`feeder-${run}-a`]!.reduce((sum, m) => sum + m.wh, 0);
    expect(all.map((r) => r.json as unknown as TelemetryReleasedAggregateEvent)).toEqual(
      [0, 1].map((i) => ({
        eventId: expect.any(String),
        tenantId,
        occurredAt: expect.any(String),
        recipient: 'dno',
        purpose: 'network-operator',
        cellId: `feeder-${run}-a`,
        granularity: 'half-hourly',
        windowStart: new Date(FIRST + i * HALF_HOUR).toISOString(),
        windowEnd: new Date(FIRST + (i + 1) * HALF_HOUR).toISOString(),
        totals: [{ obis: '1-0:1.29.0*255', unit: 'Wh', quantity: sumA, meterCount: 15 }],
      })),
    );
    expect(records.every((r) => r.key === `${tenantId}/feeder-${run}-a`)).toBe(true);
    // Nothing on the record names a meter or an occupancy.
    for (const record of all) {
      expect(record.value).not.toMatch(/MTR-|occ-/);
      expect(Object.keys(record.json).sort()).not.toContain('meterId');
    }
    // Suppressed cells leave no row; only the released cell's windows are recorded.
    const rows = await h.db
      .selectFrom('network_released_windows')
      .select(['cell_id', 'window_start'])
      .where('tenant_id', '=', tenantId)
      .execute();
    expect(rows.map((r) => r.cell_id)).toEqual([`feeder-${run}-a`, `feeder-${run}-a`]);
    // The dno never gets a per-occupancy value on telemetry.released.v1.
    const ids = new Set(occupancyIds);
    const perOccupancy = released.records.filter((r) => ids.has(String(r.json.occupancyId)));
    expect(perOccupancy.length).toBeGreaterThan(0);
    expect(perOccupancy.filter((r) => r.json.recipient === 'dno')).toEqual([]);
  });

  it('cells are set by writers, read by every role, scoped to the tenant; bad bodies are refused', async () => {
    const cellId = `substation-${run}`;
    expect((await assign(cellId, [meter('s', 1)], auditor)).status).toBe(403);
    const put = await h.request('PUT', `/v1/network-cells/${cellId}`, {
      key: operator,
      json: { kind: 'substation', meterIds: [meter('s', 1), meter('s', 2)] },
    });
    expect(put.status, put.text).toBe(200);
    const got = await h.request<Record<string, unknown>>('GET', `/v1/network-cells/${cellId}`, {
      key: auditor,
    });
    expect(got.body).toMatchObject({ kind: 'substation', meterIds: [meter('s', 1), meter('s', 2)] });
    // A meter moves: it leaves its old cell.
    expect((await assign(`feeder-${run}-moved`, [meter('s', 2)])).status).toBe(200);
    expect(
      (await h.request<Record<string, unknown>>('GET', `/v1/network-cells/${cellId}`, { key: auditor })).body,
    ).toMatchObject({ meterIds: [meter('s', 1)] });
    // Another tenant sees no such cell.
    const other = await enrollment.tenant();
    const otherGet = await h.request('GET', `/v1/network-cells/${cellId}`, { key: other.adminKey });
    expect(otherGet.status).toBe(404);
    expect(otherGet.body).toMatchObject({ code: 'NETWORK_CELL_NOT_FOUND' });
    for (const [path, json] of [
      [`/v1/network-cells/${cellId}`, { kind: 'feeder', meterIds: [] }],
      [`/v1/network-cells/${cellId}`, { kind: 'feeder', meterIds: [meter('s', 1), meter('s', 1)] }],
      [`/v1/network-cells/${cellId}`, { kind: 'gateway', meterIds: [meter('s', 1)] }],
      [`/v1/network-cells/${cellId}`, { kind: 'feeder', meterIds: ['bad meter'] }],
      [`/v1/network-cells/${cellId}`, { kind: 'feeder', meterIds: [meter('s', 1)], extra: 1 }],
      ['/v1/network-cells/-bad-cell', { kind: 'feeder', meterIds: [meter('s', 1)] }],
    ] as const) {
      const response = await h.request('PUT', path, { key: operator, json });
      expect(response.status, JSON.stringify(json)).toBe(400);
      expect(response.body).toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/) });
    }
    // Audited: counts, not the meter list.
    const audited = await sql<{ record: { subject: string; detail: Record<string, unknown> } }>`select record
      from audit_records where tenant_id = ${tenantId} and record->>'action' = 'privacy.network-cell-set'
      order by sequence`.execute(h.db);
    expect(audited.rows.slice(-2).map((r) => [r.record.subject, r.record.detail])).toEqual([
      [cellId, { kind: 'substation', meters: 2, removed: 0, movedFromOtherCells: 0 }],
      [`feeder-${run}-moved`, { kind: 'feeder', meters: 1, removed: 0, movedFromOtherCells: 1 }],
    ]);
  });
});
