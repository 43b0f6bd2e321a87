// Change of tenancy on the real stack (spec §4.3): a back-dated move-out re-seals what was sealed under
// the old occupant's key after it, under the next occupant's key, republished with `supersedes`; the
// old occupant's release gate keeps nothing of it; back-dating is bounded. Read from raw Kafka.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_READINGS, type TelemetryReadingEvent } from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { openReadings } from '@meterkeep/reading-seal';
import { startGroupAtEnd } from '@meterkeep/testing';
import { DataKeyVault } from '../src/data-keys/data-key-vault';
import { ResealJobsRepository } from '../src/reseal/reseal-jobs.repository';
import { ResealWorker } from '../src/reseal/reseal-worker';
import {
  EnrollmentProcess,
  PrivacyHarness,
  TopicTap,
  type TappedRecord,
  sealedDays as sealedDayRecords,
  testKafka,
  waitUntil,
} from './privacy-test-kit';

const DAY = 86_400_000;
const HALF_HOUR = 1_800_000;
/** Midnight UTC `days` days ago: whole days of readings, all in the past. */
const dayStart = (days: number) => Math.floor(Date.now() / DAY) * DAY - days * DAY;

describe('privacy: change of tenancy (back-dated move-out, re-seal, bounds)', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let producer: EventProducer;
  let readingsTap: TopicTap;
  let tenantId: string;
  let operator: string;
  const run = randomBytes(4).toString('hex');
  const meter = (n: number) => `MTR-COT-${run}-${n}`;

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    const kafka = testKafka();
    const groupId = `privacy-release-cot-${run}`;
    await startGroupAtEnd(kafka, groupId, TELEMETRY_READINGS.name);
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      // Staging only (no release pass), and the re-seal worker driven by the test.
      env: {
        PRIVACY_RELEASE_INTERVAL_MS: '0',
        PRIVACY_RESEAL_INTERVAL_MS: '0',
        PRIVACY_MAX_BACKDATE_DAYS: '90',
      },
      release: { groupId, maxWaitTimeInMs: 100 },
    });
    ({ tenantId } = await enrollment.tenant());
    operator = await enrollment.key(tenantId, 'operator');
    producer = new EventProducer({ kafka, contracts: [TELEMETRY_READINGS] });
    await producer.connect();
    readingsTap = await TopicTap.open(kafka, TELEMETRY_READINGS);
  });
  afterAll(async () => {
    await readingsTap?.close();
    await producer?.disconnect();
    await h?.stop();
    await enrollment?.stop();
  });

  const open = async (n: number, from: number, subject = 'a') => {
    const opened = await h.request<{ occupancyId: string; keyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: {
        meterId: meter(n),
        subjectRef: `hh-${run}-${n}-${subject}`,
        from: new Date(from).toISOString(),
      },
    });
    expect(opened.status, opened.text).toBe(201);
    return opened.body;
  };
  const close = (occupancyId: string, to: number) =>
    h.request<{ code?: string; to?: string }>('POST', `/v1/occupancies/${occupancyId}/close`, {
      key: operator,
      json: { to: new Date(to).toISOString() },
    });
  const keyBytes = async (keyId: string) => {
    const row = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('key_id', '=', keyId)
      .executeTakeFirstOrThrow();
    return h.service.app.get(DataKeyVault).open(row);
  };
  /** One sealed record per UTC day from `from`, each that day's 48 half-hourly readings (and a 12:00 event). */
  const sealedDays = async (n: number, keyId: string, from: number, days: number) => {
    const key = { keyId, key: await keyBytes(keyId) };
    return sealedDayRecords({
      tenantId,
      meterId: meter(n),
      key,
      from,
      days,
      run,
      events: (start) => [
        { code: 'TAMPER', occurredAt: new Date(start + DAY / 2).toISOString(), severity: 'alarm' },
      ],
    });
  };
  const staged = async (occupancyId: string) =>
    (
      await h.db
        .selectFrom('release_readings')
        .select('interval_start')
        .where('occupancy_id', '=', occupancyId)
        .execute()
    ).map((r) => r.interval_start.getTime());
  const resealsOf = (n: number) => (r: TappedRecord) =>
    r.key === `${tenantId}/${meter(n)}` && Array.isArray(r.json.supersedes);

  it('back-dated move-out: the old key’s readings after it are re-sealed under the next occupant’s key, with supersedes; the old occupant’s gate keeps none', async () => {
    const A = await open(1, dayStart(20));
    // Five days sealed under A's key (the ingest did not know yet that A had left).
    const originals = await sealedDays(1, A.keyId, dayStart(5), 5);
    for (const record of originals) {
      // The envelope states its reading-time bounds: coverage is checkable without a key.
      expect(Date.parse(record.intervalFrom!)).toBe(
        Date.parse(openReadings(record, await keyBytes(A.keyId)).readings[0]!.intervalStart),
      );
    }
    await producer.publishMany(TELEMETRY_READINGS, originals);
    await waitUntil(async () => (await staged(A.occupancyId)).length === 5 * 48 || undefined, {
      timeoutMs: 30_000,
      description: 'A’s readings staged',
    });

    // A left without notice at noon two days ago; B moved in then.
    const T = dayStart(2) + DAY / 2;
    const closed = await close(A.occupancyId, T);
    expect(closed.status, closed.text).toBe(200);
    // The gate's staged readings of A from T on are gone at once (same transaction).
    const left = await staged(A.occupancyId);
    expect(left.length).toBe(3 * 48 + 24);
    expect(left.every((t) => t < T)).toBe(true);
    const B = await open(1, T, 'b');
    const jobs = await h.db.selectFrom('reseal_jobs').selectAll().where('meter_id', '=', meter(1)).execute();
    expect(jobs.map((j) => [j.reason, j.reseal_from.getTime()]).sort()).toEqual(
      [
        ['backdated-close', T],
        ['backdated-open', T],
        ['backdated-open', dayStart(20)],
      ].sort(),
    );

    // A reading the gate staged for A while the move-out was committing (a race): the job removes it.
    await h.db
      .insertInto('release_readings')
      .values({
        tenant_id: tenantId,
        occupancy_id: A.occupancyId,
        obis: '1-0:1.8.0*255',
        unit: 'Wh',
        interval_start: new Date(T + DAY / 4),
        interval_minutes: 30,
        quantity: 2,
      })
      .execute();
    expect(await h.service.app.get(ResealWorker).runDue()).toBe(3);
    expect((await staged(A.occupancyId)).every((t) => t < T)).toBe(true);
    const reseals = (await readingsTap.waitFor(resealsOf(1), 2, 're-sealed records', 30_000)).map(
      (r) => r.json as unknown as TelemetryReadingEvent,
    );
    // Every re-sealed record is under B's key, names the original it replaces, and holds exactly the
    // readings of that original from T on.
    const bKey = await keyBytes(B.keyId);
    const byOriginal = new Map(originals.map((o) => [o.eventId, o]));
    const moved: number[] = [];
    for (const reseal of reseals) {
      expect(reseal.keyId).toBe(B.keyId);
      expect(reseal.supersedes).toHaveLength(1);
      const original = byOriginal.get(reseal.supersedes![0]!)!;
      expect(original, 'supersedes an original record').toBeDefined();
      const opened = openReadings(reseal, bKey);
      const times = opened.readings.map((r) => Date.parse(r.intervalStart));
      expect(Math.min(...times)).toBeGreaterThanOrEqual(T);
      expect(Date.parse(reseal.intervalFrom!)).toBeGreaterThanOrEqual(T);
      expect(opened.batchId).toBe(openReadings(original, await keyBytes(A.keyId)).batchId);
      moved.push(...times);
      expect(() => openReadings(reseal, Buffer.from(randomBytes(32)))).toThrow();
    }
    const expected = originals
      .flatMap((o) => sealedTimes(o))
      .filter((t) => t >= T)
      .sort((a, b) => a - b);
    expect(moved.sort((a, b) => a - b)).toEqual(expected);
    // Two originals reach T: the day it falls in (its afternoon) and yesterday (whole).
    expect(reseals).toHaveLength(2);
    expect(new Set(reseals.map((r) => r.supersedes![0]))).toEqual(
      new Set([originals[3]!.eventId, originals[4]!.eventId]),
    );
    // Records wholly before T are not touched.
    expect(reseals.some((r) => r.supersedes![0] === originals[0]!.eventId)).toBe(false);

    // The gate stages the re-sealed readings for B; A's staged set never regains them.
    await waitUntil(async () => (await staged(B.occupancyId)).length === expected.length || undefined, {
      timeoutMs: 30_000,
      description: 'B’s re-sealed readings staged',
    });
    expect((await staged(A.occupancyId)).every((t) => t < T)).toBe(true);

    // Run again (a crash before the job was marked done): nothing is republished.
    const before = readingsTap.records.filter(resealsOf(1)).length;
    await h.db
      .updateTable('reseal_jobs')
      .set({ state: 'pending' })
      .where('meter_id', '=', meter(1))
      .execute();
    expect(await h.service.app.get(ResealWorker).runDue()).toBe(3);
    const done = await h.db.selectFrom('reseal_jobs').selectAll().where('meter_id', '=', meter(1)).execute();
    expect(done.every((j) => j.state === 'done' && j.records_resealed === 0)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(readingsTap.records.filter(resealsOf(1)).length).toBe(before);
  });

  it('a move-out with nobody moving in re-seals under the meter’s own key (nobody’s data, never released)', async () => {
    const A = await open(2, dayStart(10));
    const originals = await sealedDays(2, A.keyId, dayStart(2), 2);
    await producer.publishMany(TELEMETRY_READINGS, originals);
    const T = dayStart(1);
    expect((await close(A.occupancyId, T)).status).toBe(200);
    await h.service.app.get(ResealWorker).runDue();
    const [reseal] = (await readingsTap.waitFor(resealsOf(2), 1, 're-sealed record')).map(
      (r) => r.json as unknown as TelemetryReadingEvent,
    );
    const meterKey = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('meter_id', '=', meter(2))
      .where('occupancy_id', 'is', null)
      .executeTakeFirstOrThrow();
    expect(reseal!.keyId).toBe(meterKey.key_id);
    expect(reseal!.supersedes).toEqual([originals[1]!.eventId]);
    expect(openReadings(reseal!, await keyBytes(meterKey.key_id)).readings).toHaveLength(48);
  });

  it("takes back-dated move-outs before move-ins: the next occupant's readings leave the old occupant's key first", async () => {
    const jobs = h.service.app.get(ResealJobsRepository);
    const long = new Date('2001-01-01T00:00:00Z');
    const job = (reason: 'backdated-open' | 'backdated-close', minute: number) => ({
      tenantId,
      meterId: meter(9),
      occupancyId: `occ-order-${reason}`,
      reason,
      from: long,
      notBefore: new Date(long.getTime() + minute * 60_000),
    });
    // In a transaction rolled back at the end: the running worker never sees these.
    const taken = await h.db
      .transaction()
      .execute(async (trx) => {
        await jobs.enqueue(trx, job('backdated-open', 0));
        await jobs.enqueue(trx, job('backdated-open', 1));
        await jobs.enqueue(trx, job('backdated-close', 2));
        const first = await jobs.lockNextDue(trx, new Date(long.getTime() + 3 * 60_000));
        throw Object.assign(new Error('rollback'), { first });
      })
      .catch((error: { first?: { reason: string; occupancy_id: string } }) => error.first);
    expect(taken).toMatchObject({ reason: 'backdated-close', occupancy_id: 'occ-order-backdated-close' });
  });

  it('refuses a move-out dated further back than PRIVACY_MAX_BACKDATE_DAYS (90) with 422 BACKDATE_TOO_FAR', async () => {
    expect(h.config.PRIVACY_MAX_BACKDATE_DAYS).toBe(90);
    const C = await open(3, Date.now() - 200 * DAY);
    const tooFar = await close(C.occupancyId, Date.now() - 91 * DAY);
    expect(tooFar.status).toBe(422);
    expect(tooFar.body.code).toBe('BACKDATE_TOO_FAR');
    // Nothing changed: still open, no job.
    const row = await h.db
      .selectFrom('occupancies')
      .selectAll()
      .where('occupancy_id', '=', C.occupancyId)
      .executeTakeFirstOrThrow();
    expect(row.valid_to).toBeNull();
    expect(
      await h.db.selectFrom('reseal_jobs').selectAll().where('occupancy_id', '=', C.occupancyId).execute(),
    ).toEqual([]);
    const within = await close(C.occupancyId, Date.now() - 89 * DAY);
    expect(within.status, within.text).toBe(200);
    // A move-out dated in the future: the ingest switches keys at the instant; a job due once every
    // ingest key cache has expired re-seals anything a stale cache sealed past it.
    const D = await open(4, Date.now() - DAY);
    const closedAt = Date.now();
    expect((await close(D.occupancyId, Date.now() + DAY)).status).toBe(200);
    const dJobs = await h.db
      .selectFrom('reseal_jobs')
      .selectAll()
      .where('occupancy_id', '=', D.occupancyId)
      .orderBy('reason')
      .execute();
    expect(dJobs.map((j) => j.reason)).toEqual(['backdated-open', 'future-close']);
    expect(dJobs[1]!.not_before.getTime()).toBeGreaterThanOrEqual(closedAt + 3_600_000);
  });
});

function sealedTimes(record: TelemetryReadingEvent): number[] {
  // The test's records hold 48 half-hours from intervalFrom and one event at noon.
  const from = Date.parse(record.intervalFrom!);
  return Array.from({ length: 48 }, (_, i) => from + i * HALF_HOUR);
}
