import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActiveFleet,
  type Platform,
  activeFleet,
  deviceClient,
  startPlatform,
  waitUntil,
} from '@meterkeep/testing';
import { dayOfReadings, utcDay } from './telemetry-kit';

function workerPids(primary: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(primary)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0);
  } catch {
    return [];
  }
}

// An ingest replica with two worker processes on the same ports: each takes connections, a worker
// that dies is started again (and fences the one it replaces), and SIGTERM stops them all cleanly.
describe('telemetry ingest with worker processes', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-workers-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  let platform: Platform;
  let fleet: ActiveFleet;

  beforeAll(async () => {
    platform = await startPlatform({ logs, ingestEnv: { TELEMETRY_WORKERS: '2' } });
    fleet = await activeFleet(platform, {
      tenantId: `wk-${runId.toLowerCase()}`,
      count: 6,
      prefix: `WK${runId}M`,
    });
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
  });

  const postFromEach = async (batchId: string, daysAgo: number) =>
    Promise.all(
      fleet.batch.endpointNames.map(async (endpointName, i) => {
        const device = deviceClient(platform.ingestUri, platform.serverCaPem, {
          statesDir: fleet.batch.statesDir,
          endpointName,
        });
        try {
          return await waitUntil(
            async () => {
              const answer = await device
                .post('/tl/v1/batches', { batchId, readings: dayOfReadings(utcDay(daysAgo), i, 4) })
                .catch(() => undefined);
              return answer?.status === 200 ? answer.body : undefined;
            },
            { timeoutMs: 60_000, description: `${endpointName} answered` },
          );
        } finally {
          device.close();
        }
      }),
    );

  it('answers meters from both workers, replaces a worker that died, and exits 0 on SIGTERM', async () => {
    const primary = platform.ingest.child.pid!;
    expect(workerPids(primary)).toHaveLength(2);
    const first = await postFromEach('w-1', 1);
    expect(first.every((answer) => (answer as { accepted: number }).accepted === 4)).toBe(true);
    const log = () => readFileSync(join(logs, 'telemetry-ingest.log'), 'utf8');
    // Both workers opened a device listener and took batches (connections are spread between them).
    expect(log().match(/device listener \(mutual TLS\) listening/g)).toHaveLength(2);

    const [victim] = workerPids(primary);
    process.kill(victim!, 'SIGKILL');
    await waitUntil(() => workerPids(primary).filter((pid) => pid !== victim).length === 2, {
      timeoutMs: 30_000,
      description: 'the primary to start the worker again',
    });
    await waitUntil(() => log().match(/device listener \(mutual TLS\) listening/g)?.length === 3, {
      timeoutMs: 60_000,
      description: 'the new worker to open its device listener',
    });
    const second = await postFromEach('w-2', 2);
    expect(second.every((answer) => (answer as { accepted: number }).accepted === 4)).toBe(true);
    // A replay reaches whichever worker, and is still recognised.
    const replays = await postFromEach('w-1', 1);
    expect(replays.every((answer) => (answer as { replayed: boolean }).replayed)).toBe(true);

    expect(await platform.ingest.stop()).toEqual({ code: 0, signal: null });
  }, 180_000);
});
