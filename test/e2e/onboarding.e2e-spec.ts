import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  enrollBatch,
  freePort,
  internalWiring,
  mintProvisionedBatch,
  operatorApi,
  platformEnv,
  runBuiltCli,
  type ServiceProcess,
  stackEnvFrom,
  startServiceProcess,
  waitUntil,
} from '@meterkeep/testing';

// The whole onboarding path as its users walk it: an OEM mints a batch, a utility trusts the
// manufacturer CA and uploads the enrollment list, the fleet bootstraps over mutual TLS, and the
// registry shows the meters ACTIVE.
describe('onboarding a batch of meters, end to end', () => {
  const work = mkdtempSync(join(tmpdir(), 'meterkeep-onboarding-'));
  // Kept after the run, for when a service does not come up.
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-onboarding-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  let enrollment: ServiceProcess;
  let bootstrap: ServiceProcess;
  let api: Api;
  let squatter: Api;
  let bootstrapUri: string;
  let serverCaPem: string;

  beforeAll(async () => {
    const stack = stackEnvFrom(process.env)!;
    const enrollmentPort = await freePort();
    const tlsPort = await freePort();
    // Bootstrap asks enrollment's internal listener (mutual TLS) about PSK proofs.
    const internal = await internalWiring();
    bootstrapUri = `https://localhost:${tlsPort}`;
    const env = platformEnv(stack, {
      BOOTSTRAP_TLS_PORT: String(tlsPort),
      BOOTSTRAP_PUBLIC_URI: bootstrapUri,
    });
    enrollment = await startServiceProcess({
      name: 'enrollment',
      port: enrollmentPort,
      env,
      internal,
      logFile: join(logs, 'enrollment.log'),
    });
    bootstrap = await startServiceProcess({
      name: 'bootstrap',
      port: await freePort(),
      env,
      internal,
      logFile: join(logs, 'bootstrap.log'),
    });
    await Promise.all([enrollment.waitReady(90_000), bootstrap.waitReady(90_000)]);

    serverCaPem = await (await fetch(`${bootstrap.url}/bs/v1/server-ca`)).text();
    const tenant = `onboard-${runId.toLowerCase()}`;
    const key = (await runBuiltCli('enrollment', ['tenant', 'create', tenant], env)).trim();
    api = operatorApi(enrollment.url, key);
    const squatterKey = (
      await runBuiltCli('enrollment', ['tenant', 'create', `squat-${runId.toLowerCase()}`], env)
    ).trim();
    squatter = operatorApi(enrollment.url, squatterKey);
  });

  afterAll(async () => {
    await Promise.all([enrollment?.stop(), bootstrap?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  /** A batch minted by its own factory CA for this bootstrap server. */
  const mint = (dir: string, count: number, prefix: string, credential?: 'psk') =>
    mintProvisionedBatch({
      dir: join(work, dir),
      count,
      prefix: `E2E${runId}${prefix}`,
      bootstrapUri,
      bootstrapTrustAnchorPem: serverCaPem,
      ...(credential && { credential }),
    });

  const statesOf = async (names: string[]) => {
    const states: Record<string, number> = {};
    for (const name of names) {
      const { body } = await api('GET', `/v1/devices/${name}`);
      const state = (body as { state: string }).state;
      states[state] = (states[state] ?? 0) + 1;
    }
    return states;
  };

  it('bootstraps a certificate batch: every meter gets an operational certificate and turns ACTIVE', async () => {
    const batch = await mint('cert', 40, 'C');
    const report = (await enrollBatch(api, batch, { trustCa: true })) as { accepted: number };
    expect(report.accepted).toBe(40);
    expect(await statesOf(batch.endpointNames)).toEqual({ ENROLLED: 40 });

    const fleet = JSON.parse(
      await runBuiltCli('meter-sim', [
        'fleet',
        'bootstrap',
        '--state',
        batch.statesDir,
        '--concurrency',
        '10',
        '--json',
      ]),
    ) as { succeeded: number; failed: number };
    expect(fleet).toMatchObject({ succeeded: 40, failed: 0 });

    await waitUntil(async () => (await statesOf(batch.endpointNames)).ACTIVE === 40, {
      timeoutMs: 30_000,
      description: 'the registry to show the batch ACTIVE',
    });

    const renewed = JSON.parse(
      await runBuiltCli('meter-sim', [
        'fleet',
        'renew',
        '--state',
        batch.statesDir,
        '--limit',
        '5',
        '--json',
      ]),
    ) as { succeeded: number };
    expect(renewed.succeeded).toBe(5);
  });

  it("lets no other tenant block or take a utility's meters by enrolling their names first", async () => {
    const batch = await mint('squat', 3, 'S');
    const [first] = batch.endpointNames;
    // Another tenant, which never proved the manufacturer's CA: a claim with a made-up fingerprint,
    // then the whole list with the genuine ones (that row too). All answered as for any name: its own.
    const claim = await squatter('POST', `/v1/devices/${first}/claim`, {
      certificateSha256: 'ab'.repeat(32),
    });
    expect(claim.status).toBe(200);
    const list = readFileSync(join(batch.batchDir, 'enrollment-list.csv'), 'utf8');
    const copied = await squatter('POST', '/v1/enrollment-lists', list, 'text/csv');
    expect(copied.body).toMatchObject({ accepted: 3, rejected: 0 });

    // The utility's list row and claim, and the meters' bootstrap, all succeed afterwards.
    expect(await enrollBatch(api, batch, { trustCa: true })).toMatchObject({ accepted: 3, rejected: 0 });
    const genuine = list
      .split('\n')
      .find((line) => line.startsWith(`${first},`))!
      .split(',')[1];
    expect((await api('POST', `/v1/devices/${first}/claim`, { certificateSha256: genuine })).status).toBe(
      200,
    );
    const fleet = JSON.parse(
      await runBuiltCli('meter-sim', ['fleet', 'bootstrap', '--state', batch.statesDir, '--json']),
    ) as { succeeded: number; failed: number };
    expect(fleet).toMatchObject({ succeeded: 3, failed: 0 });
    await waitUntil(async () => (await statesOf(batch.endpointNames)).ACTIVE === 3, { timeoutMs: 30_000 });
    for (const name of batch.endpointNames)
      expect(((await squatter('GET', `/v1/devices/${name}`)).body as { state: string }).state).toBe(
        'ENROLLED',
      );
  });

  it('bootstraps PSK meters through a proof over a server nonce', async () => {
    const batch = await mint('psk', 5, 'P', 'psk');
    await enrollBatch(api, batch, { trustCa: false });
    const fleet = JSON.parse(
      await runBuiltCli('meter-sim', ['fleet', 'bootstrap', '--state', batch.statesDir, '--json']),
    ) as { succeeded: number; failed: number };
    expect(fleet).toMatchObject({ succeeded: 5, failed: 0 });
    await waitUntil(async () => (await statesOf(batch.endpointNames)).ACTIVE === 5, { timeoutMs: 30_000 });
  });

  it('refuses a batch whose manufacturer CA the utility never trusted', async () => {
    const batch = await mint('untrusted', 2, 'U');
    await enrollBatch(api, batch, { trustCa: false });
    const result = await runBuiltCli('meter-sim', [
      'fleet',
      'bootstrap',
      '--state',
      batch.statesDir,
      '--json',
      '--retry-for',
      '1',
    ]).then(
      (out) => out,
      (error: Error) => error.message,
    );
    expect(result).toMatch(/CERTIFICATE_INVALID/);
    expect(await statesOf(batch.endpointNames)).toEqual({ ENROLLED: 2 });
  });
});
