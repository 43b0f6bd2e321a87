// The readings index's backfill on the real stack: records of telemetry.readings.v1 produced while no
// release consumer (so no index) existed are missing from a subject access export; the backfill indexes
// them from raw Kafka, the export then holds them, and running it again indexes nothing.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SealedReadings, TELEMETRY_READINGS } from '@meterkeep/contracts';
import { EventProducer } from '@meterkeep/kafka';
import { readingEventId, sealReadings } from '@meterkeep/reading-seal';
import { principalEnv, serviceStackEnv, startGroupAtEnd } from '@meterkeep/testing';
import { DataKeyVault } from '../src/data-keys/data-key-vault';
import { runReadingsBackfill } from '../src/exports/readings-backfill-cli';
import type { BackfillReport } from '../src/exports/readings-backfill';
import { EnrollmentProcess, PrivacyHarness, testKafka, waitUntil } from './privacy-test-kit';

const DAY = 86_400_000;

describe('privacy: readings index backfill', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let producer: EventProducer;
  let tenantId: string;
  let admin: string;
  let operator: string;
  const run = randomBytes(4).toString('hex');
  const meterId = `MTR-BF-${run}`;
  const subject = `hh-bf-${run}`;
  const groupId = `privacy-release-bf-${run}`;
  const kek = randomBytes(32).toString('base64');
  const d0 = Math.floor(Date.now() / DAY) * DAY - 20 * DAY;
  let key: { keyId: string; key: Buffer };
  let dir: string;

  const start = (release: boolean, schema?: string, group = groupId) =>
    PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      ...(schema && { schema }),
      env: {
        PRIVACY_KEK: kek,
        PRIVACY_CERTIFICATE_KEY_FILE: join(dir, 'certificate-key.pem'),
        PRIVACY_EXPORT_INTERVAL_MS: '200',
        PRIVACY_KEK_CHECK_INTERVAL_S: '0',
        PRIVACY_RETENTION_CHECK_INTERVAL_S: '0',
        PRIVACY_RELEASE_INTERVAL_MS: '60000',
      },
      ...(release && { release: { groupId: group, maxWaitTimeInMs: 100 } }),
    });

  /** One sealed record of day n: 4 half-hourly readings. */
  const publishDay = async (n: number) => {
    const batchId = `b-${run}-${n}`;
    const payload: SealedReadings = {
      batchId,
      readings: Array.from({ length: 4 }, (_, i) => ({
        obis: '1-0:1.8.0*255',
        intervalStart: new Date(d0 + n * DAY + i * 1_800_000).toISOString().replace('.000Z', 'Z'),
        intervalMinutes: 30,
        value: 100 + n,
        scaler: 0,
        unit: 'Wh' as const,
      })),
      events: [],
    };
    const context = { eventId: readingEventId(tenantId, meterId, batchId, key.keyId), tenantId, meterId };
    await producer.publish(TELEMETRY_READINGS, {
      ...context,
      occurredAt: new Date().toISOString(),
      ...sealReadings(payload, key, context),
    });
  };

  const indexed = async () => {
    const { total } = await h.db
      .selectFrom('reading_ranges')
      .select(sql<string>`coalesce(sum(records), 0)`.as('total'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(total);
  };

  /** An export of the subject, to READY: how many readings it holds. */
  const exported = async () => {
    const requested = await h.request<{ exportId: string }>('POST', `/v1/subjects/${subject}/exports`, {
      key: admin,
      json: {},
    });
    expect(requested.status, requested.text).toBe(202);
    const body = await waitUntil(
      async () => {
        const view = await h.request<{ state: string; error: string | null; summary: { readings: number } }>(
          'GET',
          `/v1/subjects/${subject}/exports/${requested.body.exportId}`,
          { key: admin },
        );
        if (view.body.state === 'FAILED') throw new Error(`export failed: ${view.body.error}`);
        return view.body.state === 'READY' ? view.body : undefined;
      },
      { timeoutMs: 30_000, description: 'export READY' },
    );
    return body.summary.readings;
  };

  const backfill = async (...argv: string[]) => backfillFor(groupId, ...argv);
  const backfillFor = async (group: string, ...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runReadingsBackfill(['backfill', '--release-group', group, ...argv], {
      env: { ...serviceStackEnv('privacy'), ...principalEnv('admin'), PRIVACY_KEK: kek },
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      schema: h.schema,
    });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    return JSON.parse(out.join('\n')) as BackfillReport;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backfill-it-'));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(dir, 'certificate-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    enrollment = await EnrollmentProcess.start('privacy');
    ({ tenantId, adminKey: admin } = await enrollment.tenant('pvbackfill'));
    operator = await enrollment.key(tenantId, 'operator');
    producer = new EventProducer({ kafka: testKafka(), contracts: [TELEMETRY_READINGS] });
    await producer.connect();
    // No release consumer yet: what is produced now is read by nobody and indexed nowhere.
    h = await start(false);
    const opened = await h.request<{ occupancyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: { meterId, subjectRef: subject, from: new Date(d0).toISOString() },
    });
    expect(opened.status, opened.text).toBe(201);
    const row = await h.db
      .selectFrom('data_keys')
      .selectAll()
      .where('occupancy_id', '=', opened.body.occupancyId)
      .executeTakeFirstOrThrow();
    key = { keyId: row.key_id, key: await h.service.app.get(DataKeyVault).open(row) };
    for (const n of [0, 1, 2]) await publishDay(n);
    // The release consumer (the live indexer) starts from here, as one deployed after those records.
    await startGroupAtEnd(testKafka(), groupId, TELEMETRY_READINGS.name);
    const schema = h.schema;
    await h.stop({ keepSchema: true });
    h = await start(true, schema);
    for (const n of [3, 4]) await publishDay(n);
    await waitUntil(async () => (await indexed()) === 2, { timeoutMs: 30_000, description: 'live index' });
  }, 120_000);

  afterAll(async () => {
    await producer?.disconnect();
    await h?.stop();
    await enrollment?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Ranges of the tenant that overlap another of their (meter, key, partition). */
  const overlaps = async () => {
    const { overlaps } = await h.db
      .selectFrom('reading_ranges as a')
      .innerJoin('reading_ranges as b', (j) =>
        j
          .onRef('a.tenant_id', '=', 'b.tenant_id')
          .onRef('a.meter_id', '=', 'b.meter_id')
          .onRef('a.partition', '=', 'b.partition')
          .onRef('a.first_offset', '<', 'b.first_offset')
          .onRef('a.last_offset', '>=', 'b.first_offset'),
      )
      .select(sql<string>`count(*)`.as('overlaps'))
      .where('a.tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(overlaps);
  };

  it('readings-index.backfill: the records before the index are exported only after it, and a second run indexes nothing', async () => {
    // Before: the export reads through the index and misses days 0–2.
    expect(await exported()).toBe(2 * 4);

    const first = await backfill('--batch', '2');
    expect(first.indexed).toBe(3);
    expect(await indexed()).toBe(5);
    // Each partition's checkpoint is at its stop: the release group's offset when the backfill began.
    for (const p of first.partitions) expect(p.nextOffset).toBeGreaterThanOrEqual(p.stopOffset);
    expect(first.partitions.reduce((n, p) => n + p.indexed, 0)).toBe(3);
    expect(await exported()).toBe(5 * 4);

    // Again: the checkpoints say done, nothing is read or added.
    const second = await backfill();
    expect(second).toMatchObject({ scanned: 0, indexed: 0 });
    // From scratch (checkpoints forgotten, up to where the live indexer is now): every record of the
    // subject is read again, each already covered, so nothing is added and no range overlaps another.
    const rescan = await backfill('--rescan');
    expect(rescan.scanned).toBeGreaterThanOrEqual(5);
    expect(rescan.indexed).toBe(0);
    expect(await indexed()).toBe(5);
    expect(await overlaps()).toBe(0);
    expect(await exported()).toBe(5 * 4);
  });

  it('readings-index.backfill-uncommitted: a partition the release group never committed on is left to it whole (it starts there at the earliest offset), and a rerun keeps that stop', async () => {
    // A deployment whose index is lost and whose release group has committed on every partition but
    // the subject's: there the group starts at the earliest offset and indexes everything itself.
    const { partition } = await h.db
      .selectFrom('reading_ranges')
      .select('partition')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    const fresh = `privacy-release-bf-fresh-${run}`;
    const kafkaAdmin = testKafka().admin();
    await kafkaAdmin.connect();
    const offsets = await kafkaAdmin.fetchTopicOffsets(TELEMETRY_READINGS.name);
    const others = offsets.filter((p) => p.partition !== partition);
    if (others.length > 0)
      await kafkaAdmin.setOffsets({
        groupId: fresh,
        topic: TELEMETRY_READINGS.name,
        partitions: others.map(({ partition: p, high }) => ({ partition: p, offset: high })),
      });
    await kafkaAdmin.disconnect();
    const low = Number(offsets.find((p) => p.partition === partition)!.low);
    await h.db.deleteFrom('reading_ranges').where('tenant_id', '=', tenantId).execute();

    const first = await backfillFor(fresh, '--rescan');
    // Not scanned: the stop is where the group will start, the partition's earliest offset.
    expect(first.partitions.find((p) => p.partition === partition)).toMatchObject({
      stopOffset: low,
      nextOffset: low,
      indexed: 0,
    });
    expect(first.indexed).toBe(0);

    // The live indexer of that group indexes the partition from its earliest offset, each record once.
    const schema = h.schema;
    await h.stop({ keepSchema: true });
    h = await start(true, schema, fresh);
    await publishDay(5);
    await waitUntil(async () => (await indexed()) === 6, { timeoutMs: 30_000, description: 'live index' });
    // A rerun once the group has committed there: the stop stays where it was fixed, nothing is scanned.
    const again = await backfillFor(fresh);
    expect(again).toMatchObject({ scanned: 0, indexed: 0 });
    expect(again.partitions.find((p) => p.partition === partition)?.stopOffset).toBe(low);
    expect(await indexed()).toBe(6);
    expect(await overlaps()).toBe(0);
    expect(await exported()).toBe(6 * 4);
  });
});
