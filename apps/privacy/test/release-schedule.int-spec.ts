// The release gate plans only the occupancies due (release_schedule), on the real stack: readings in
// through the gate's consumer, passes driven by hand (the timer is off) with the clock they are given,
// values out on telemetry.released.v1 read from raw Kafka.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SealedReadings,
  TELEMETRY_READINGS,
  TELEMETRY_RELEASED,
  type TelemetryReadingEvent,
} from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { readingEventId, sealReadings } from '@meterkeep/reading-seal';
import { startGroupAtEnd } from '@meterkeep/testing';
import { DataKeyVault } from '../src/data-keys/data-key-vault';
import { windowOf } from '../src/release/calendar-windows';
import { ReleaseWindowsUseCase } from '../src/release/release-windows.use-case';
import {
  EnrollmentProcess,
  PrivacyHarness,
  TopicTap,
  type TappedRecord,
  testKafka,
  waitUntil,
} from './privacy-test-kit';

const DAY = 86_400_000;
const HALF_HOUR = 1_800_000;
const GRACE_MS = 2_000;
const SUPPLIER_PURPOSES = 4;
const evidence = `web:coach-optin/v1/sha256:${'cd'.repeat(32)}`;
const QUIET = 12;

/** 00:00 UTC on the 2nd of the month `offset` months from this one (clear of local month edges). */
const monthDay = (offset: number, day = 2) => {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, day);
};

describe('privacy: the release gate plans only what is due', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let producer: EventProducer;
  let released: TopicTap;
  let tenantId: string;
  let operator: string;
  const run = randomBytes(4).toString('hex');
  const meter = (n: number) => `MTR-RS-${run}-${n}`;
  const pass = (now = new Date()) => h.service.app.get(ReleaseWindowsUseCase).execute(now);

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    const kafka = testKafka();
    const groupId = `privacy-release-schedule-it-${run}`;
    await startGroupAtEnd(kafka, groupId, TELEMETRY_READINGS.name);
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      env: {
        // No timer: every pass below is driven by the test, with the clock it names.
        PRIVACY_RELEASE_INTERVAL_MS: '0',
        PRIVACY_RELEASE_GRACE_S: String(GRACE_MS / 1000),
        PRIVACY_RELEASE_LOOKBACK_DAYS: '400',
      },
      release: { groupId, maxWaitTimeInMs: 100 },
    });
    ({ tenantId } = await enrollment.tenant());
    operator = await enrollment.key(tenantId, 'operator');
    producer = new EventProducer({ kafka, contracts: [TELEMETRY_READINGS] });
    await producer.connect();
    released = await TopicTap.open(kafka, TELEMETRY_RELEASED);
  });
  afterAll(async () => {
    await released?.close();
    await producer?.disconnect();
    await h?.stop();
    await enrollment?.stop();
  });

  /** An occupancy from the 1st of three months ago, on a pre-2019 contract (supplier purposes: monthly). */
  const open = async (n: number) => {
    const opened = await h.request<{ occupancyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: {
        meterId: meter(n),
        subjectRef: `hh-${run}-${n}`,
        from: new Date(monthDay(-3, 1)).toISOString(),
        contractDate: '2018-01-01',
      },
    });
    expect(opened.status, opened.text).toBe(201);
    return opened.body.occupancyId;
  };

  /** One sealed record: the UTC day from `from`, 48 half-hourly readings. */
  const dayRecord = async (n: number, occupancyId: string, from: number): Promise<TelemetryReadingEvent> => {
    const row = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirstOrThrow();
    const key = { keyId: row.key_id, key: await h.service.app.get(DataKeyVault).open(row) };
    const batchId = `b-${run}-${n}-${from}`;
    const payload: SealedReadings = {
      batchId,
      readings: Array.from({ length: 48 }, (_, i) => ({
        obis: '1-0:1.8.0*255',
        intervalStart: new Date(from + i * HALF_HOUR).toISOString().replace('.000Z', 'Z'),
        intervalMinutes: 30,
        value: 3,
        scaler: 0,
        unit: 'Wh' as const,
      })),
      events: [],
    };
    const context = {
      eventId: readingEventId(tenantId, meter(n), batchId, key.keyId),
      tenantId,
      meterId: meter(n),
    };
    return { ...context, occurredAt: new Date().toISOString(), ...sealReadings(payload, key, context) };
  };

  const staged = async (occupancyIds: string[]) => {
    const { count } = await h.db
      .selectFrom('release_readings')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('occupancy_id', 'in', occupancyIds)
      .executeTakeFirstOrThrow();
    return Number(count);
  };
  const waitStaged = (occupancyIds: string[], count: number) =>
    waitUntil(async () => (await staged(occupancyIds)) === count || undefined, {
      timeoutMs: 30_000,
      description: `${count} readings staged`,
    });
  /** Until each occupancy fell quiet (its last reading staged longer than the grace ago). */
  const quiet = () => new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));
  const of = (occupancyId: string) => (r: TappedRecord) => r.json.occupancyId === occupancyId;

  it('a pass over quiet occupancies plans none of them; a changed one is planned and released; a window closing re-plans it with no new reading', async () => {
    const quietOnes: string[] = [];
    for (let n = 0; n < QUIET; n++) quietOnes.push(await open(n));
    const later = await open(100);
    // Each quiet occupancy: one day of the month before last (closed). `later`: a day of next month.
    await producer.publishMany(TELEMETRY_READINGS, [
      ...(await Promise.all(quietOnes.map((id, n) => dayRecord(n, id, monthDay(-2))))),
      await dayRecord(100, later, monthDay(1, 5)),
    ]);
    await waitStaged([...quietOnes, later], (QUIET + 1) * 48);
    await quiet();

    // Staged readings made the quiet ones due; `later`'s readings cannot close before next month.
    const first = await pass();
    expect(first.planned.sort()).toEqual([...quietOnes].sort());
    expect(first.released).toBe(QUIET * SUPPLIER_PURPOSES);
    await released.waitFor(
      (r) => quietOnes.includes(r.json.occupancyId as string),
      QUIET * SUPPLIER_PURPOSES,
      'the monthly values of the quiet occupancies',
      30_000,
    );

    // Nothing happened since: nothing is planned (the gate used to plan all of them every pass).
    const second = await pass();
    expect(second).toEqual({ planned: [], released: 0 });

    // Something happens to two of them: new readings (a day of three months ago) and a consent grant.
    const [withReadings, withGrant] = quietOnes as [string, string, ...string[]];
    await producer.publish(TELEMETRY_READINGS, await dayRecord(0, withReadings, monthDay(-3)));
    await waitStaged([withReadings], 2 * 48);
    const granted = await h.request('POST', `/v1/occupancies/${withGrant}/consents`, {
      key: operator,
      json: {
        evidenceRef: evidence,
        action: 'grant',
        purpose: 'third-party',
        recipient: 'third-party:coach',
        granularity: 'daily',
        basis: 'consent',
        historicalFrom: new Date(monthDay(-3, 1)).toISOString(),
        effectiveTo: new Date(Date.now() + 60 * DAY).toISOString(),
      },
    });
    expect(granted.status, granted.text).toBe(201);
    await quiet();
    const third = await pass();
    expect(third.planned.sort()).toEqual([withReadings, withGrant].sort());
    // The month of the new readings for each supplier purpose; the coach's local days (two in BST).
    const coachDays = new Set(
      Array.from(
        { length: 48 },
        (_, i) => windowOf('Europe/London', 'daily', monthDay(-2) + i * HALF_HOUR).start,
      ),
    ).size;
    expect(third.released).toBe(SUPPLIER_PURPOSES + coachDays);
    const coach = await released.waitFor(
      (r) => of(withGrant)(r) && r.json.recipient === 'third-party:coach',
      coachDays,
      'the daily values granted',
      30_000,
    );
    expect(new Set(coach.map((r) => r.json.granularity))).toEqual(new Set(['daily']));
    const newMonth = await released.waitFor(
      (r) => of(withReadings)(r) && r.json.windowStart === new Date(monthDay(-3, 1)).toISOString(),
      SUPPLIER_PURPOSES,
      'the month of the new readings',
      30_000,
    );
    expect(new Set(newMonth.map((r) => r.json.granularity))).toEqual(new Set(['monthly']));
    expect((await pass()).planned).toEqual([]);

    // `later`: planned when its first reading's half-hour could have closed (nothing to release: the
    // month is open), then not again until its month closes plus the grace, without any new reading.
    const firstInterval = monthDay(1, 5) + HALF_HOUR + GRACE_MS;
    expect((await pass(new Date(firstInterval - 1_000))).planned).not.toContain(later);
    const atFirst = await pass(new Date(firstInterval));
    expect(atFirst.planned).toContain(later);
    expect(atFirst.released).toBe(0);
    const monthEnd = windowOf('Europe/London', 'monthly', monthDay(1, 5)).end;
    const before = await pass(new Date(monthEnd + GRACE_MS - 1_000));
    expect(before.planned).not.toContain(later);
    expect(before.planned.filter((id) => quietOnes.includes(id) && id !== withGrant)).toEqual([]);
    const closed = await pass(new Date(monthEnd + GRACE_MS));
    expect(closed.planned).toContain(later);
    expect(closed.planned.filter((id) => quietOnes.includes(id) && id !== withGrant)).toEqual([]);
    const values = await released.waitFor(of(later), SUPPLIER_PURPOSES, "next month's values", 30_000);
    expect(values.map((r) => [r.json.granularity, r.json.windowEnd])).toEqual(
      Array.from({ length: SUPPLIER_PURPOSES }, () => ['monthly', new Date(monthEnd).toISOString()]),
    );
  });

  it("a closure and a destroyed key make a quiet occupancy due: the key's staged readings go at the next pass", async () => {
    const [closing, shredded] = [await open(200), await open(201)];
    await producer.publishMany(TELEMETRY_READINGS, [
      await dayRecord(200, closing, monthDay(-2)),
      await dayRecord(201, shredded, monthDay(-2)),
    ]);
    await waitStaged([closing, shredded], 2 * 48);
    await quiet();
    expect((await pass()).planned.sort()).toEqual([closing, shredded].sort());
    expect((await pass()).planned).toEqual([]);

    const closed = await h.request('POST', `/v1/occupancies/${closing}/close`, {
      key: operator,
      json: { to: new Date(monthDay(-1, 10)).toISOString() },
    });
    expect(closed.status, closed.text).toBe(200);
    const { key_id: keyId } = await h.db
      .selectFrom('data_keys')
      .select('key_id')
      .where('occupancy_id', '=', shredded)
      .executeTakeFirstOrThrow();
    const admin = await enrollment.key(tenantId, 'admin');
    const destroyed = await h.request('POST', `/v1/data-keys/${keyId}/destroy`, { key: admin });
    expect(destroyed.status, destroyed.text).toBe(200);
    expect(await staged([shredded])).toBe(48);

    const after = await pass();
    expect(after.planned.sort()).toEqual([closing, shredded].sort());
    expect(after.released).toBe(0);
    // Values in the clear under a destroyed key: deleted by the pass the destruction made due.
    expect(await staged([shredded])).toBe(0);
    expect(await staged([closing])).toBe(48);
    expect((await pass()).planned).toEqual([]);
  });
});
