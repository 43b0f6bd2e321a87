// The release gate on the real stack (spec §4.2): sealed readings in on telemetry.readings.v1, values
// out on telemetry.released.v1 at the granularity the ledger permits, read from raw Kafka.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SealedReadings,
  TELEMETRY_READINGS,
  TELEMETRY_RELEASED,
  type TelemetryReadingEvent,
  type TelemetryReleasedEvent,
  deadLetterTopicName,
} from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { openRelease, readingEventId, sealReadings } from '@meterkeep/reading-seal';
import { startGroupAtEnd } from '@meterkeep/testing';
import { DataKeyVault } from '../src/data-keys/data-key-vault';
import { KekRing } from '../src/key-epochs/kek-ring';
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
const evidence = `web:coach-optin/v1/sha256:${'ab'.repeat(32)}`;
const SUPPLIER_PURPOSES = ['billing', 'supplier-insights', 'settlement', 'forecasting'];
/**
 * The year of the readings: the latest whose 3 May has passed (the tests' windows run to 2 May), so they
 * are closed and within the look-back whatever the day the suite runs (never a fixed year that ages out).
 */
const YEAR = (() => {
  const now = new Date();
  const year = now.getUTCFullYear();
  return now.getTime() >= Date.UTC(year, 4, 3) ? year : year - 1;
})();

describe('privacy: the release gate from raw Kafka', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let producer: EventProducer;
  let released: TopicTap;
  let deadLetters: TopicTap;
  let tenantId: string;
  let operator: string;
  const run = randomBytes(4).toString('hex');
  const meter = (n: number) => `MTR-RG-${run}-${n}`;

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    const kafka = testKafka();
    const groupId = `privacy-release-it-${run}`;
    // The gate's group starts where the topic ends now: earlier runs' records are not this run's.
    await startGroupAtEnd(kafka, groupId, TELEMETRY_READINGS.name);
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      // Readings of January to May of YEAR: at most 16 months back.
      env: {
        PRIVACY_RELEASE_INTERVAL_MS: '200',
        PRIVACY_RELEASE_GRACE_S: '2',
        PRIVACY_RELEASE_LOOKBACK_DAYS: '500',
      },
      release: { groupId, maxWaitTimeInMs: 100 },
    });
    ({ tenantId } = await enrollment.tenant());
    operator = await enrollment.key(tenantId, 'operator');
    producer = new EventProducer({ kafka, contracts: [TELEMETRY_READINGS] });
    await producer.connect();
    [released, deadLetters] = await Promise.all([
      TopicTap.open(kafka, TELEMETRY_RELEASED),
      TopicTap.open(kafka, deadLetterTopicName(TELEMETRY_READINGS.name)),
    ]);
  });
  afterAll(async () => {
    await Promise.all([released, deadLetters].map((tap) => tap?.close()));
    await producer?.disconnect();
    await h?.stop();
    await enrollment?.stop();
  });

  /** An occupancy from 1 January of YEAR on a pre-2019 contract (settlement: monthly without opt-in). */
  const open = async (n: number) => {
    const opened = await h.request<{ occupancyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: {
        meterId: meter(n),
        subjectRef: `hh-${run}-${n}`,
        from: `${YEAR}-01-01T00:00:00.000Z`,
        contractDate: '2018-01-01',
      },
    });
    expect(opened.status).toBe(201);
    return opened.body.occupancyId;
  };
  const consent = async (occupancyId: string, json: Record<string, unknown>) => {
    const response = await h.request('POST', `/v1/occupancies/${occupancyId}/consents`, {
      key: operator,
      json: { evidenceRef: evidence, ...json },
    });
    expect(response.status, response.text).toBe(201);
  };
  const grantThirdParty = (occupancyId: string, recipient: string, granularity: string) =>
    consent(occupancyId, {
      action: 'grant',
      purpose: 'third-party',
      recipient,
      granularity,
      basis: 'consent',
      historicalFrom: `${YEAR}-01-01T00:00:00.000Z`,
      effectiveTo: new Date(Date.now() + 30 * DAY).toISOString(),
    });

  /** The occupancy's data key, as the ingest holds it. */
  const dataKey = async (occupancyId: string) => {
    const row = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirstOrThrow();
    return { keyId: row.key_id, key: await h.service.app.get(DataKeyVault).open(row) };
  };

  /** One sealed record per UTC day from `from`, each with that day's 48 half-hourly readings of `wh`. */
  const readingsRecords = async (n: number, occupancyId: string, from: number, days: number, wh = 2) => {
    const key = await dataKey(occupancyId);
    const events: TelemetryReadingEvent[] = [];
    for (let d = 0; d < days; d++) {
      const start = from + d * DAY;
      const batchId = `b-${run}-${start}`;
      const payload: SealedReadings = {
        batchId,
        readings: Array.from({ length: 48 }, (_, i) => ({
          obis: '1-0:1.8.0*255',
          intervalStart: new Date(start + i * HALF_HOUR).toISOString().replace('.000Z', 'Z'),
          intervalMinutes: 30,
          value: wh,
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
      events.push({
        ...context,
        occurredAt: new Date().toISOString(),
        ...sealReadings(payload, key, context),
      });
    }
    return events;
  };

  const releaseKeys = (occupancyId: string, recipient?: string) => {
    let query = h.db.selectFrom('release_keys').selectAll().where('occupancy_id', '=', occupancyId);
    if (recipient) query = query.where('recipient', '=', recipient);
    return query.execute();
  };
  const stagedCount = async (occupancyId: string) => {
    const { count } = await h.db
      .selectFrom('release_readings')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirstOrThrow();
    return Number(count);
  };

  const ofOccupancy = (occupancyId: string) => (r: TappedRecord) => r.json.occupancyId === occupancyId;
  const event = (r: TappedRecord) => r.json as unknown as TelemetryReleasedEvent;

  it('monthly permission: one value per calendar month; daily: one per local day; nothing finer', async () => {
    const occupancyId = await open(1);
    await grantThirdParty(occupancyId, 'third-party:coach', 'daily');
    // January and February of YEAR (GMT: local days are UTC days).
    await producer.publishMany(
      TELEMETRY_READINGS,
      await readingsRecords(1, occupancyId, Date.parse(`${YEAR}-01-01T00:00:00Z`), 59),
    );

    const expected = SUPPLIER_PURPOSES.length * 2 + 59;
    const records = await released.waitFor(ofOccupancy(occupancyId), expected, 'released values', 60_000);
    // Two more passes: nothing else comes.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const all = released.records.filter(ofOccupancy(occupancyId)).map(event);
    expect(all).toHaveLength(expected);
    expect(records.every((r) => r.key === `${tenantId}/${occupancyId}`)).toBe(true);

    for (const purpose of SUPPLIER_PURPOSES) {
      const values = all.filter((e) => e.recipient === 'supplier' && e.purpose === purpose);
      expect(
        values.map((e) => [e.granularity, e.windowStart, e.windowEnd]),
        purpose,
      ).toEqual([
        ['monthly', `${YEAR}-01-01T00:00:00.000Z`, `${YEAR}-02-01T00:00:00.000Z`],
        ['monthly', `${YEAR}-02-01T00:00:00.000Z`, `${YEAR}-03-01T00:00:00.000Z`],
      ]);
    }
    expect(all.filter((e) => e.purpose === 'marketing')).toEqual([]);
    const coach = all.filter((e) => e.recipient === 'third-party:coach');
    expect(coach).toHaveLength(59);
    expect(new Set(coach.map((e) => e.granularity))).toEqual(new Set(['daily']));
    expect(new Set(coach.map((e) => e.windowStart)).size).toBe(59);
    for (const e of coach) expect(Date.parse(e.windowEnd) - Date.parse(e.windowStart)).toBe(DAY);

    // The totals are sealed: not on the record, and they open only under the purpose's release key.
    const billingJanuary = all.find(
      (e) => e.purpose === 'billing' && e.windowStart === `${YEAR}-01-01T00:00:00.000Z`,
    )!;
    const raw = records.find((r) => r.json.eventId === billingJanuary.eventId)!.value;
    expect(raw).not.toContain(`hh-${run}`);
    const keyRow = await h.db
      .selectFrom('release_keys')
      .selectAll()
      .where('key_id', '=', billingJanuary.keyId)
      .executeTakeFirstOrThrow();
    expect(keyRow).toMatchObject({ occupancy_id: occupancyId, recipient: 'supplier', purpose: 'billing' });
    const key = await h.service.app
      .get(KekRing)
      .unwrap(
        { wrappedKey: keyRow.wrapped_key!, kekEpoch: keyRow.kek_epoch },
        { tenantId, meterId: meter(1), keyId: keyRow.key_id },
      );
    expect(openRelease(billingJanuary, key).totals).toEqual([
      { obis: '1-0:1.8.0*255', unit: 'Wh', quantity: 31 * 48 * 2, readingCount: 31 * 48 },
    ]);
    const { key: dataKeyBytes } = await dataKey(occupancyId);
    expect(() => openRelease(billingJanuary, dataKeyBytes)).toThrow();
  });

  it('withdrawal: no half-hourly value later than 1 s after the withdrawal commits', async () => {
    const occupancyId = await open(2);
    const recipient = 'third-party:tracker';
    await grantThirdParty(occupancyId, recipient, 'half-hourly');
    const records = await readingsRecords(2, occupancyId, Date.parse(`${YEAR}-03-02T00:00:00Z`), 40);
    // The meter keeps reporting (one day's record every 100 ms) while the withdrawal lands.
    let sent = 0;
    const sending = (async () => {
      for (const record of records) {
        await producer.publish(TELEMETRY_READINGS, record);
        sent++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const tracker = (r: TappedRecord) => ofOccupancy(occupancyId)(r) && r.json.recipient === recipient;
    await released.waitFor(tracker, 48 * 3, 'half-hourly values before the withdrawal', 30_000);
    const sentBefore = sent;
    const withdrawnAt = Date.now();
    await consent(occupancyId, { action: 'withdraw', purpose: 'third-party', recipient });
    await sending;
    expect(sent - sentBefore).toBeGreaterThan(10);
    // Every record sent was staged: the gate had them to release, and let none out.
    await waitUntil(
      async () => {
        const { count } = await h.db
          .selectFrom('release_readings')
          .select((eb) => eb.fn.countAll<string>().as('count'))
          .where('occupancy_id', '=', occupancyId)
          .executeTakeFirstOrThrow();
        return Number(count) === 40 * 48 || undefined;
      },
      { timeoutMs: 30_000, description: 'every reading staged' },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const values = released.records.filter(tracker);
    expect(values.filter((r) => r.timestamp <= withdrawnAt).length).toBeGreaterThanOrEqual(48 * 3);
    expect(values.every((r) => r.json.granularity === 'half-hourly')).toBe(true);
    expect(values.filter((r) => r.timestamp > withdrawnAt + 1_000)).toEqual([]);
    // The supplier's purposes meanwhile: monthly only (March of YEAR has closed).
    const supplier = released.records.filter(
      (r) => ofOccupancy(occupancyId)(r) && r.json.recipient === 'supplier',
    );
    expect(new Set(supplier.map((r) => r.json.granularity))).toEqual(new Set(['monthly']));

    // The purpose's key went with the withdrawal, in its transaction: what the tracker was released
    // opens no more inside the platform. The supplier's purposes keep theirs (still permitted).
    const trackerKeys = await releaseKeys(occupancyId, recipient);
    expect(trackerKeys).toHaveLength(1);
    const [shredded] = trackerKeys;
    expect(shredded).toMatchObject({ wrapped_key: null });
    expect(shredded!.destroyed_at!.getTime()).toBeGreaterThanOrEqual(withdrawnAt - 1_000);
    expect(shredded!.wrapped_key_sha256).toHaveLength(32);
    expect(new Set(values.map((r) => r.json.keyId))).toEqual(new Set([shredded!.key_id]));
    const supplierKeys = await releaseKeys(occupancyId, 'supplier');
    expect(supplierKeys.length).toBeGreaterThan(0);
    expect(supplierKeys.every((k) => k.wrapped_key !== null)).toBe(true);

    // Granted again: a new key for what is released from now on; the shredded one stays destroyed.
    await grantThirdParty(occupancyId, recipient, 'half-hourly');
    const regranted = Date.now();
    await producer.publishMany(
      TELEMETRY_READINGS,
      await readingsRecords(2, occupancyId, Date.parse(`${YEAR}-05-01T00:00:00Z`), 1),
    );
    const [again] = await released.waitFor(
      (r) => tracker(r) && r.timestamp >= regranted,
      1,
      'a value after the grant again',
      30_000,
    );
    expect(again!.json.keyId).not.toBe(shredded!.key_id);
    // Produced before its transaction commits (a failed produce rolls the release back): wait for it.
    const after = await waitUntil(
      async () => {
        const keys = await releaseKeys(occupancyId, recipient);
        return keys.length === 2 ? keys : undefined;
      },
      { timeoutMs: 10_000, description: 'the new release key committed' },
    );
    expect(after.map((k) => [k.key_id, k.wrapped_key === null])).toEqual(
      expect.arrayContaining([
        [shredded!.key_id, true],
        [again!.json.keyId, false],
      ]),
    );
  });

  it("erasure: the occupancy's release keys go with its readings key, its staged readings are deleted, and nothing more is released", async () => {
    const occupancyId = await open(4);
    const recipient = 'third-party:coach';
    await grantThirdParty(occupancyId, recipient, 'daily');
    const [first, ...later] = await readingsRecords(4, occupancyId, Date.parse(`${YEAR}-01-01T00:00:00Z`), 4);
    await producer.publishMany(TELEMETRY_READINGS, [first!]);
    const coach = await released.waitFor(
      (r) => ofOccupancy(occupancyId)(r) && r.json.recipient === recipient,
      1,
      'the first day released',
      30_000,
    );
    const admin = await enrollment.key(tenantId, 'admin');
    const requested = await h.request<{ erasureId: string }>('POST', `/v1/subjects/hh-${run}-4/erasures`, {
      key: admin,
      json: {},
    });
    expect(requested.status, requested.text).toBe(202);
    // Privacy's own part is done once the saga waits for the other services' confirmations.
    const saga = await waitUntil(
      async () => {
        const row = await h.db
          .selectFrom('erasures')
          .selectAll()
          .where('erasure_id', '=', requested.body.erasureId)
          .executeTakeFirst();
        return row?.state === 'CONFIRMING' ? row : undefined;
      },
      { timeoutMs: 30_000, description: 'the erasure past its own purge' },
    );
    const keys = await releaseKeys(occupancyId);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.wrapped_key === null && k.destroyed_at !== null)).toBe(true);
    const listed = (saga.keys_destroyed as { keyId: string; kind: string; wrappedKeyCommitment: string }[])
      .filter((k) => k.kind === 'release')
      .map((k) => [k.keyId, k.wrappedKeyCommitment]);
    expect(listed.sort()).toEqual(
      keys.map((k) => [k.key_id, `sha256:${k.wrapped_key_sha256!.toString('hex')}`]).sort(),
    );
    expect(keys.map((k) => k.key_id)).toContain(coach[0]!.json.keyId);
    expect(await stagedCount(occupancyId)).toBe(0);

    // Readings of the erased occupancy that arrive late (sealed before the key went) are neither staged
    // nor released.
    const before = released.records.filter(ofOccupancy(occupancyId)).length;
    await producer.publishMany(TELEMETRY_READINGS, later);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(released.records.filter(ofOccupancy(occupancyId))).toHaveLength(before);
    expect(await stagedCount(occupancyId)).toBe(0);
  });

  it('dead-letters a record under a key the vault does not know, with the reason', async () => {
    const occupancyId = await open(3);
    const [record] = await readingsRecords(3, occupancyId, Date.parse(`${YEAR}-01-05T00:00:00Z`), 1);
    const forged = { ...record!, eventId: randomUUID(), keyId: `dk-${randomUUID()}` };
    await producer.publish(TELEMETRY_READINGS, forged);
    const [dead] = await deadLetters.waitFor((r) => r.json.eventId === forged.eventId, 1, 'dead letter');
    expect(Object.values(dead!.headers).join(' ')).toMatch(/unknown-key/);
  });

  it('a forged record amid its neighbours in one send: it alone is dead-lettered, the neighbours are staged and indexed', async () => {
    const occupancyId = await open(5);
    const records = await readingsRecords(5, occupancyId, Date.parse(`${YEAR}-01-10T00:00:00Z`), 3);
    const forged = { ...records[1]!, eventId: randomUUID(), keyId: `dk-${randomUUID()}` };
    // One request: the three records reach the gate in one batch of the meter's partition.
    await producer.publishMany(TELEMETRY_READINGS, [records[0]!, forged, records[2]!]);
    const [dead] = await deadLetters.waitFor((r) => r.json.eventId === forged.eventId, 1, 'dead letter');
    expect(Object.values(dead!.headers).join(' ')).toMatch(/unknown-key/);
    await waitUntil(async () => (await stagedCount(occupancyId)) === 2 * 48 || undefined, {
      timeoutMs: 30_000,
      description: 'the neighbours staged',
    });
    const ranges = await h.db
      .selectFrom('reading_ranges')
      .select(['records', 'reading_from', 'reading_to'])
      .where('meter_id', '=', meter(5))
      .execute();
    expect(ranges.reduce((n, r) => n + r.records, 0)).toBe(2);
    expect(deadLetters.records.filter((r) => r.json.meterId === meter(5))).toHaveLength(1);
    // Named by the gate (RefusedRecordsError), not found by replaying the slice record by record.
    expect(h.logs.some((line) => line.includes('dead-lettering those, handing the rest over again'))).toBe(
      true,
    );
  });
});
