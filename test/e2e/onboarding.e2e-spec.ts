import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  type MintedBatch,
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

  /**
   * A batch minted by its own factory CA for this bootstrap server; with `sameCaAs`, by that batch's
   * CA (the same prefix then mints new credentials for the same meters).
   */
  const mint = (dir: string, count: number, prefix: string, credential?: 'psk', sameCaAs?: MintedBatch) =>
    mintProvisionedBatch({
      dir: join(work, dir),
      count,
      prefix: `E2E${runId}${prefix}`,
      bootstrapUri,
      bootstrapTrustAnchorPem: serverCaPem,
      ...(credential && { credential }),
      ...(sameCaAs && { caDir: sameCaAs.caDir, caEnv: sameCaAs.caEnv }),
    });

  /** One bootstrap attempt of a batch's meters (a refusal is final): meter-sim's output or its error. */
  const bootstrapOnce = (batch: MintedBatch) =>
    runBuiltCli('meter-sim', [
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

  /** The credential column (fingerprint, or PSK key) of a batch's enrollment list, per meter. */
  const listedCredential = (batch: MintedBatch, name: string) =>
    readFileSync(join(batch.batchDir, 'enrollment-list.csv'), 'utf8')
      .split('\n')
      .find((line) => line.startsWith(`${name},`))!
      .split(',');

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
    expect(await bootstrapOnce(batch)).toMatch(/CERTIFICATE_INVALID/);
    expect(await statesOf(batch.endpointNames)).toEqual({ ENROLLED: 2 });
  });

  describe("an operator revokes and rotates a meter's factory credential", () => {
    const credentialPath = (name: string) => `/v1/devices/${name}/factory-credential`;

    it('refuses the revoked certificate at bootstrap with the uniform refusal, and the old list cannot bring it back', async () => {
      const batch = await mint('revoked', 1, 'V');
      await enrollBatch(api, batch, { trustCa: true });
      const [name] = batch.endpointNames as [string];
      // Bootstrapped first: bootstrap knows the CA and the meter, so a refusal below is the revocation's.
      await waitUntil(async () => /"succeeded":\s*1/.test(await bootstrapOnce(batch)), {
        timeoutMs: 30_000,
        intervalMs: 500,
      });
      const revoked = await api('POST', `${credentialPath(name)}/revocation`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ endpointName: name, revokedAt: expect.any(String) });

      // Refused once the record reaches bootstrap (an attempt before that re-bootstraps the meter; a
      // few stay within its re-bootstrap allowance, whose refusal would be a long Retry-After).
      const answers: string[] = [];
      await waitUntil(
        async () => {
          answers.push(await bootstrapOnce(batch));
          return /CERTIFICATE_INVALID/.test(answers.at(-1)!) || answers.length === 3;
        },
        { timeoutMs: 60_000, intervalMs: 1_000 },
      );
      expect(answers.at(-1)).toMatch(/CERTIFICATE_INVALID/);
      const relisted = await api(
        'POST',
        '/v1/enrollment-lists',
        readFileSync(join(batch.batchDir, 'enrollment-list.csv'), 'utf8'),
        'text/csv',
      );
      expect(relisted.body).toMatchObject({ accepted: 0, rejected: 1 });
      expect(await bootstrapOnce(batch)).toMatch(/CERTIFICATE_INVALID/);
    });

    it('bootstraps with the new certificate after a rotation and refuses the old one', async () => {
      const old = await mint('rotate-old', 1, 'R');
      await enrollBatch(api, old, { trustCa: true });
      const fresh = await mint('rotate-new', 1, 'R', undefined, old);
      const [name] = old.endpointNames as [string];
      const [, newFingerprint] = listedCredential(fresh, name);

      const rotated = await api('PUT', credentialPath(name), { certificateSha256: newFingerprint });
      expect(rotated).toMatchObject({
        status: 200,
        body: { credential: { kind: 'certificate', fingerprintSha256: newFingerprint }, revokedAt: null },
      });
      // Refused (FINGERPRINT_MISMATCH) until the new record reaches bootstrap, then accepted.
      await waitUntil(async () => /"succeeded":\s*1/.test(await bootstrapOnce(fresh)), {
        timeoutMs: 30_000,
        intervalMs: 500,
        description: 'the rotated certificate to bootstrap',
      });
      expect(await bootstrapOnce(old)).toMatch(/FINGERPRINT_MISMATCH/);
      const again = await api('PUT', credentialPath(name), { certificateSha256: newFingerprint });
      expect(again).toMatchObject({ status: 409, body: { code: 'CREDENTIAL_UNCHANGED' } });
    });

    it('accepts the new PSK after a rotation and refuses the old one', async () => {
      const old = await mint('psk-rotate-old', 1, 'K', 'psk');
      await enrollBatch(api, old, { trustCa: false });
      const fresh = await mint('psk-rotate-new', 1, 'K', 'psk');
      const [name] = old.endpointNames as [string];
      const [, , newKey] = listedCredential(fresh, name);

      expect((await api('PUT', credentialPath(name), { pskKeyBase64: newKey })).status).toBe(200);
      // Enrollment checks proofs against the key it holds; bootstrap answers once it knows the meter.
      await waitUntil(async () => /BAD_PSK_PROOF/.test(await bootstrapOnce(old)), {
        timeoutMs: 30_000,
        intervalMs: 500,
        description: 'bootstrap to refuse the old PSK',
      });
      expect(await bootstrapOnce(fresh)).toMatch(/"succeeded":\s*1/);
    });

    it('answers another tenant as for a meter it does not have, and refuses an auditor', async () => {
      const batch = await mint('guarded', 1, 'G');
      await enrollBatch(api, batch, { trustCa: true });
      const [name] = batch.endpointNames as [string];
      const [, fingerprint] = listedCredential(batch, name);
      const other = { certificateSha256: 'cd'.repeat(32) };
      const foreignRevoke = await squatter('POST', `${credentialPath(name)}/revocation`);
      const foreignRotate = await squatter('PUT', credentialPath(name), other);
      const absent = await api('POST', `${credentialPath('E2E-NO-SUCH-METER')}/revocation`);
      expect(foreignRevoke).toEqual(absent);
      expect(foreignRotate).toMatchObject({ status: 404, body: { code: 'DEVICE_NOT_FOUND' } });

      const created = await api('POST', '/v1/api-keys', { role: 'auditor' });
      const auditor = operatorApi(enrollment.url, (created.body as { apiKey: string }).apiKey);
      expect((await auditor('POST', `${credentialPath(name)}/revocation`)).status).toBe(403);
      expect((await auditor('PUT', credentialPath(name), other)).status).toBe(403);

      // Nothing changed: the meter's own certificate still bootstraps.
      expect((await api('GET', `/v1/devices/${name}`)).body).toMatchObject({
        credential: { fingerprintSha256: fingerprint },
      });
      await waitUntil(async () => /"succeeded":\s*1/.test(await bootstrapOnce(batch)), { timeoutMs: 30_000 });
    });
  });
});
