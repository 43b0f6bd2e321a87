import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StandIns } from '../../test/stand-ins';
import { loadFleet } from './fleet';
import { type FleetReportProgress, checkReportOptions, pace, reportFleet } from './fleet-report';

let pki: StandIns;
beforeAll(() => {
  pki = new StandIns();
});
afterEach(() => pki.close());

const until = new Date('2026-06-01T00:00:00Z');

describe('a fleet reporting its interval data', () => {
  it('sends the days of every bootstrapped meter and sums up what the ingest answered', async () => {
    const telemetry = await pki.telemetryServer(pki.platformCa);
    const bootstrap = await pki.bootstrapServer(telemetry.url, [pki.platformCa.certificate.pem]);
    const stateDir = mkdtempSync(join(tmpdir(), 'fleet-'));
    for (const name of ['MTR-A', 'MTR-B', 'MTR-C']) pki.provisionedMeter(name, stateDir);
    const [a, b] = loadFleet(stateDir, { bootstrapUrl: bootstrap.url });
    await Promise.all([a!.client.bootstrap(), b!.client.bootstrap()]);
    const progress: FleetReportProgress[] = [];

    const summary = await reportFleet({
      stateDir,
      days: 3,
      from: '2026-01-01',
      batchSize: 100,
      concurrency: 2,
      until,
      onProgress: (p) => progress.push(p),
    });

    expect(summary).toMatchObject({
      from: '2026-01-01',
      meters: 2,
      notBootstrapped: 1,
      succeeded: 2,
      failed: 0,
      batches: 4,
      readings: 294,
      accepted: 294 + summary.events,
      duplicates: 0,
      rejected: 0,
      retries: 0,
      rebootstrapped: 0,
    });
    expect(summary.p50Ms).toBeGreaterThan(0);
    expect(summary.p99Ms).toBeGreaterThanOrEqual(summary.p50Ms);
    expect(new Set(telemetry.batches.map((batch) => batch.meterId))).toEqual(new Set(['MTR-A', 'MTR-B']));
    expect(progress.at(-1)).toMatchObject({
      metersDone: 2,
      meters: 2,
      readingsSent: 294,
      readingsTotal: 294,
    });
  });

  it('counts a meter that fails, and goes on with the others', async () => {
    const telemetry = await pki.telemetryServer(pki.platformCa);
    const bootstrap = await pki.bootstrapServer(telemetry.url, [pki.platformCa.certificate.pem]);
    const stateDir = mkdtempSync(join(tmpdir(), 'fleet-'));
    for (const name of ['MTR-A', 'MTR-B']) pki.provisionedMeter(name, stateDir);
    for (const meter of loadFleet(stateDir, { bootstrapUrl: bootstrap.url })) await meter.client.bootstrap();

    const summary = await reportFleet({
      stateDir,
      days: 1,
      from: '2026-01-01',
      batchSize: 100,
      until,
      telemetryUri: 'https://localhost:1',
      retryForMs: 0,
    });
    expect(summary).toMatchObject({ meters: 2, succeeded: 0, failed: 2, batches: 0 });
    expect(summary.failures[0]?.error).toMatch(/not answered/);
  });

  it('refuses options it cannot honour before any meter sends', () => {
    const options = { stateDir: 'x', days: 3, until };
    expect(checkReportOptions(options)).toEqual({ batchSize: 500, from: '2026-05-29', until });
    expect(() => checkReportOptions({ ...options, batchSize: 99 })).toThrow(/--batch-size/);
    expect(() => checkReportOptions({ ...options, batchSize: 1001 })).toThrow(/--batch-size/);
    expect(() => checkReportOptions({ ...options, days: 0 })).toThrow(/--days/);
    expect(() => checkReportOptions({ ...options, rate: 0 })).toThrow(/--rate/);
    expect(() => checkReportOptions({ ...options, from: '2019-12-31' })).toThrow(/before 2020-01-01/);
    expect(() => checkReportOptions({ ...options, from: '2026-13-01' })).toThrow(/YYYY-MM-DD/);
  });
});

describe('a fleet-wide pace', () => {
  it('lets readings through at the rate, one caller after another', async () => {
    const waits: number[] = [];
    const take = pace(100, (ms) => (waits.push(ms), Promise.resolve()));
    await take(100);
    await take(100);
    await take(50);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThan(990);
    expect(waits[0]).toBeLessThanOrEqual(1_000);
    expect(waits[1]).toBeGreaterThan(1_990);
    expect(waits[1]).toBeLessThanOrEqual(2_000);
  });
});
