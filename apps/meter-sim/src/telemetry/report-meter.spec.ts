import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StandIns } from '../../test/stand-ins';
import { reportMeter } from './report-meter';
import { TelemetryStats } from './telemetry-client';

// A meter going from bootstrap to sending its days, and back to bootstrap when refused, against
// stand-ins for bootstrap and the telemetry ingest, each with its own server CA.
let pki: StandIns;
beforeAll(() => {
  pki = new StandIns();
});
afterEach(() => pki.close());

const days = { from: '2026-01-01', days: 3, batchSize: 100, until: new Date('2026-06-01T00:00:00Z') };

describe('a meter reporting its interval data', () => {
  it('sends its days in batches with its operational certificate, trusting the server CA bootstrap named', async () => {
    const telemetry = await pki.telemetryServer(pki.platformCa);
    const bootstrap = await pki.bootstrapServer(telemetry.url, [pki.platformCa.certificate.pem]);
    const meter = await pki.bootstrappedMeter('MTR-1', bootstrap.url);
    const stats = new TelemetryStats();

    const report = await reportMeter('MTR-1', meter, { ...days, stats });

    expect(report).toMatchObject({ batches: 2, readings: 147, rebootstrapped: false });
    expect(telemetry.batches.map((b) => [b.batchId, b.readings.length, b.peer, b.meterId])).toEqual([
      ['MTR-1:2026-01-01:0:100', 100, bootstrap.issued[0], 'MTR-1'],
      ['MTR-1:2026-01-03:2:47', 47, bootstrap.issued[0], 'MTR-1'],
    ]);
    expect(stats).toMatchObject({ batches: 2, accepted: 147 + report.events, retries: 0 });
  });

  it("trusts the factory bundle's bootstrap anchor when bootstrap named no server CA", async () => {
    const telemetry = await pki.telemetryServer(pki.bootstrapCa);
    const meter = await pki.bootstrappedMeter('MTR-1', (await pki.bootstrapServer(telemetry.url)).url);
    await reportMeter('MTR-1', meter, { ...days, stats: new TelemetryStats() });
    expect(telemetry.batches).toHaveLength(2);
  });

  it('does not trust the bootstrap anchor when bootstrap named another server CA', async () => {
    const telemetry = await pki.telemetryServer(pki.bootstrapCa);
    const bootstrap = await pki.bootstrapServer(telemetry.url, [pki.platformCa.certificate.pem]);
    const meter = await pki.bootstrappedMeter('MTR-1', bootstrap.url);
    await expect(reportMeter('MTR-1', meter, { ...days, stats: new TelemetryStats() })).rejects.toMatchObject(
      {
        code: 'SERVER_UNTRUSTED',
      },
    );
  });

  it('sends to the telemetry URI it is given instead of the one from bootstrap', async () => {
    const telemetry = await pki.telemetryServer(pki.platformCa);
    const bootstrap = await pki.bootstrapServer('https://localhost:1', [pki.platformCa.certificate.pem]);
    const meter = await pki.bootstrappedMeter('MTR-1', bootstrap.url);
    await reportMeter('MTR-1', meter, { ...days, telemetryUri: telemetry.url, stats: new TelemetryStats() });
    expect(telemetry.batches).toHaveLength(2);
  });

  it('bootstraps again when its credential is refused, and sends the refused batch once more', async () => {
    const revoked: string[] = [];
    const telemetry = await pki.telemetryServer(pki.platformCa, (peer) => revoked.includes(peer));
    const bootstrap = await pki.bootstrapServer(telemetry.url, [pki.platformCa.certificate.pem]);
    const meter = await pki.bootstrappedMeter('MTR-1', bootstrap.url);
    revoked.push(...bootstrap.issued);

    const report = await reportMeter('MTR-1', meter, { ...days, stats: new TelemetryStats() });

    expect(report).toMatchObject({ batches: 2, rebootstrapped: true });
    expect(bootstrap.issued).toHaveLength(2);
    expect(telemetry.batches.map((b) => [b.batchId, b.peer])).toEqual([
      ['MTR-1:2026-01-01:0:100', bootstrap.issued[0]],
      ['MTR-1:2026-01-01:0:100', bootstrap.issued[1]],
      ['MTR-1:2026-01-03:2:47', bootstrap.issued[1]],
    ]);
  });

  it('gives up when the new credential is refused too: it bootstraps only once', async () => {
    const telemetry = await pki.telemetryServer(pki.platformCa, () => true);
    const bootstrap = await pki.bootstrapServer(telemetry.url, [pki.platformCa.certificate.pem]);
    const meter = await pki.bootstrappedMeter('MTR-1', bootstrap.url);
    await expect(reportMeter('MTR-1', meter, { ...days, stats: new TelemetryStats() })).rejects.toMatchObject(
      {
        code: 'CREDENTIAL_REFUSED',
      },
    );
    expect(bootstrap.issued).toHaveLength(2);
    expect(telemetry.batches).toHaveLength(2);
  });
});
