import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { closeRedis, createRedis } from '@meterkeep/cache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_READINGS, type TelemetryReadingEvent } from '@meterkeep/contracts';
import {
  type ActiveFleet,
  type Platform,
  activeFleet,
  deviceClient,
  freePort,
  localStack,
  startPlatform,
  waitUntil,
} from '@meterkeep/testing';
import { dayOfReadings, kafkaClient, recordsOf } from './telemetry-kit';

interface ReportSummary {
  failed: number;
  batches: number;
  readings: number;
  events: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  retries: number;
  failures: unknown[];
}

/** A Redis of the ingest's own, so that restarting it touches no one else (append-only file on). */
function startRedis(port: number, dir: string): ChildProcess {
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    { stdio: 'ignore' },
  );
}

// Meters stream readings while the ingest is killed, the broker restarts, or Redis restarts; the
// meters retry as real ones do, and in the end every reading the ingest acknowledged is in Kafka
// exactly once: as many readings as acknowledged, and no batch written twice.
describe('telemetry ingest under faults', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-faults-logs-'));
  const redisDir = mkdtempSync(join(tmpdir(), 'meterkeep-faults-redis-'));
  const runId = Date.now().toString(36).toUpperCase();
  const kafka = kafkaClient();
  let redisPort: number;
  let redis: ChildProcess;
  let platform: Platform;
  let fleet: ActiveFleet;
  let daysAgo = 40;

  const restartRedis = async () => {
    redis.kill('SIGTERM');
    await new Promise((done) => redis.once('exit', done));
    redis = startRedis(redisPort, redisDir);
  };

  beforeAll(async () => {
    mkdirSync(redisDir, { recursive: true });
    redisPort = await freePort();
    redis = startRedis(redisPort, redisDir);
    platform = await startPlatform({
      logs,
      ingestEnv: {
        REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        // Its own Redis has no ACL users (a restart would lose them): the ingest connects as default.
        REDIS_USERNAME: '',
        REDIS_PASSWORD_FILE: '',
        // Shorter than the defaults, so a killed writer's meters wait less (same rules).
        TELEMETRY_TRANSACTION_TIMEOUT_MS: '3000',
        TELEMETRY_LOCK_TTL_MS: '8000',
        TELEMETRY_DEDUPE_WINDOW_MS: String(60 * 86_400_000),
      },
    });
    fleet = await activeFleet(platform, {
      tenantId: `flt-${runId.toLowerCase()}`,
      count: 12,
      prefix: `FL${runId}M`,
    });
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
    redis?.kill('SIGTERM');
  });

  /** Streams 8 days of each meter's data (throttled, ~8 s) and injects `fault` after 2.5 s. */
  async function streamThrough(fault: () => Promise<void>) {
    daysAgo -= 10;
    const from = new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    const startedAt = new Date();
    const child = spawn(
      process.execPath,
      [
        resolve(__dirname, '../../dist/apps/meter-sim/src/main.js'),
        'fleet',
        'report',
        '--state',
        fleet.batch.statesDir,
        '--from',
        from,
        '--days',
        '8',
        '--batch-size',
        '100',
        '--concurrency',
        '12',
        '--rate',
        '600',
        '--retry-for',
        '120',
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', done));
    await new Promise((done) => setTimeout(done, 2_500));
    await fault();
    expect(await exited).toBe(0);
    const summary = JSON.parse(out) as ReportSummary;
    expect(summary.failed, JSON.stringify(summary.failures)).toBe(0);

    const records = (await recordsOf(kafka, TELEMETRY_READINGS.name, `${fleet.tenantId}/`))
      .map((record) => JSON.parse(record.value) as TelemetryReadingEvent)
      .filter((event) => Date.parse(event.occurredAt) >= startedAt.getTime() - 1_000);
    const inKafka = records.reduce((n, event) => n + event.readingCount, 0);
    const eventIds = new Set(records.map((event) => event.eventId));
    return { summary, inKafka, records: records.length, distinct: eventIds.size };
  }

  it('SIGKILL of the ingest mid-stream, then a restart: every acknowledged reading is in Kafka exactly once', async () => {
    const result = await streamThrough(async () => {
      platform.ingest.child.kill('SIGKILL');
      await platform.ingest.exited;
      await platform.restartIngest();
    });
    expect(result.summary.retries).toBeGreaterThan(0);
    expect(result.summary.accepted).toBeGreaterThan(0);
    expect(result.inKafka).toBe(result.summary.accepted);
    expect(result.distinct).toBe(result.records);
  }, 180_000);

  it.skipIf(process.env.METERKEEP_STACK_SOURCE !== 'local')(
    'the Kafka broker restarted mid-stream: every acknowledged reading is in Kafka exactly once',
    async () => {
      const result = await streamThrough(async () => {
        try {
          await localStack('stop-kafka');
          await new Promise((done) => setTimeout(done, 1_000));
        } finally {
          await localStack('start-kafka');
        }
      });
      expect(result.summary.retries).toBeGreaterThan(0);
      expect(result.inKafka).toBe(result.summary.accepted);
      expect(result.distinct).toBe(result.records);
      await waitUntil(async () => (await platform.ingest.readiness()).httpStatus === 200, {
        timeoutMs: 60_000,
      });
    },
    240_000,
  );

  it('a batch committed to Kafka but never recorded in Redis (killed in between) is a replay after the restart', async () => {
    const meter = fleet.batch.endpointNames[0]!;
    const device = deviceClient(platform.ingestUri, platform.serverCaPem, {
      statesDir: fleet.batch.statesDir,
      endpointName: meter,
    });
    const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const batch = { batchId: `window-${runId}`, readings: dayOfReadings(day, 42, 6) };
    try {
      expect((await device.post('/tl/v1/batches', batch)).body).toMatchObject({
        accepted: 6,
        replayed: false,
      });
      // What a SIGKILL between the Kafka commit and the Redis update leaves: the batch in Kafka, no trace in Redis.
      const client = createRedis(`redis://127.0.0.1:${redisPort}/0`);
      const keys = await client.keys(`tl:{${fleet.tenantId}/${meter}}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await client.del(...keys);
      await closeRedis(client);
      platform.ingest.child.kill('SIGKILL');
      await platform.ingest.exited;
      await platform.restartIngest();
      device.close();

      const again = deviceClient(platform.ingestUri, platform.serverCaPem, {
        statesDir: fleet.batch.statesDir,
        endpointName: meter,
      });
      const answer = await waitUntil(
        async () => {
          const response = await again.post('/tl/v1/batches', batch).catch(() => undefined);
          return response?.status === 200 ? response.body : undefined;
        },
        { timeoutMs: 60_000, description: 'the restarted ingest to answer' },
      );
      again.close();
      expect(answer).toMatchObject({ accepted: 6, replayed: true });
      const records = (await recordsOf(kafka, TELEMETRY_READINGS.name, `${fleet.tenantId}/${meter}`)).filter(
        (record) => record.value.includes(`"readingCount":6`),
      );
      expect(records).toHaveLength(1);
    } finally {
      device.close();
    }
  }, 180_000);

  it('Redis restarted mid-stream: every acknowledged reading is in Kafka exactly once', async () => {
    const result = await streamThrough(restartRedis);
    expect(result.inKafka).toBe(result.summary.accepted);
    expect(result.distinct).toBe(result.records);
    expect(platform.ingest.child.exitCode).toBeNull();
  }, 180_000);
});
