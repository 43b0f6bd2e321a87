// The admin CLI as built, against the real services on the local stack: a tenant's first key made on
// enrollment's database (bootstrap of trust), then everything else over REST with that key.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MintedBatch,
  type Platform,
  mintProvisionedBatch,
  runBuiltCli,
  startPlatform,
  uniqueName,
} from '@meterkeep/testing';

const root = resolve(__dirname, '../../..');
const run = promisify(execFile);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

describe('meterkeep-admin against the running services', () => {
  const dir = mkdtempSync(join(tmpdir(), 'admin-cli-it-'));
  let platform: Platform;
  let batch: MintedBatch;
  let adminKey: string;

  async function admin(args: string[], key = adminKey): Promise<CliRun> {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(root, 'dist/apps/admin-cli/src/main.js'), ...args],
        {
          env: {
            PATH: process.env.PATH,
            METERKEEP_API_KEY: key,
            METERKEEP_ENROLLMENT_URL: platform.enrollment.url,
            METERKEEP_PRIVACY_URL: platform.privacy.url,
          },
        },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  beforeAll(async () => {
    execFileSync(process.execPath, [join(root, 'tools/build.mjs')], { stdio: 'ignore' });
    platform = await startPlatform({ logs: dir });
    const tenantId = uniqueName('admin-cli').toLowerCase();
    // Bootstrap of trust: the one thing left on the database CLI.
    adminKey = (await runBuiltCli('enrollment', ['tenant', 'create', tenantId], platform.env)).trim();
    batch = await mintProvisionedBatch({
      dir: join(dir, 'factory'),
      count: 3,
      prefix: uniqueName('ac'),
      bootstrapUri: platform.bootstrapUri,
      bootstrapTrustAnchorPem: platform.serverCaPem,
    });
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('trusts a manufacturer CA with proof of possession, uploads its list and reads the registry', async () => {
    const registered = await admin([
      'cas',
      'register',
      '--cert',
      join(batch.caDir, 'intermediate.pem'),
      '--json',
    ]);
    expect(registered.code, registered.stderr).toBe(0);
    const { caId, verificationCode, status } = JSON.parse(registered.stdout) as Record<string, string>;
    expect(status).toBe('PENDING_VERIFICATION');
    const proof = join(dir, 'proof.pem');
    await runBuiltCli(
      'factory',
      ['ca', 'prove', '--ca', batch.caDir, '--code', verificationCode!, '--out', proof],
      batch.caEnv,
    );
    const verified = await admin(['cas', 'verify', caId!, '--cert', proof]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('status: TRUSTED');
    expect((await admin(['cas', 'list'])).stdout).toMatch(new RegExp(`${caId}\\tTRUSTED`));

    const uploaded = await admin([
      'enrollment-lists',
      'upload',
      join(batch.batchDir, 'enrollment-list.csv'),
      '--json',
    ]);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const report = JSON.parse(uploaded.stdout) as { uploadId: string };
    const again = await admin(['enrollment-lists', 'get', report.uploadId, '--json']);
    expect(JSON.parse(again.stdout)).toEqual(report);

    const page = await admin(['devices', 'list', '--state', 'ENROLLED', '--json']);
    expect(page.code, page.stderr).toBe(0);
    const names = (JSON.parse(page.stdout) as { items: { endpointName: string }[] }).items.map(
      (d) => d.endpointName,
    );
    expect(names.sort()).toEqual([...batch.endpointNames].sort());
    const one = await admin(['devices', 'get', batch.endpointNames[0]!]);
    expect(one.stdout).toContain(`endpointName: ${batch.endpointNames[0]}`);
    const table = await admin(['devices', 'list', '--limit', '2']);
    expect(table.stdout.trim().split('\n')).toHaveLength(3); // a header and two meters
    expect(table.stderr).toMatch(/^nextCursor: \S+/m);
  });

  it('opens, reads and closes an occupancy on privacy', async () => {
    const meterId = batch.endpointNames[1]!;
    // Within privacy's back-dating bound (PRIVACY_MAX_BACKDATE_DAYS, 90 by default): relative dates.
    const day = (daysAgo: number) => new Date(Math.floor(Date.now() / 86_400_000 - daysAgo) * 86_400_000);
    const to = day(1);
    const opened = await admin([
      'occupancies',
      'open',
      '--meter',
      meterId,
      '--subject-ref',
      'household-42',
      '--from',
      day(30).toISOString(),
      '--json',
    ]);
    expect(opened.code, opened.stderr).toBe(0);
    const { occupancyId } = JSON.parse(opened.stdout) as { occupancyId: string };
    const listed = await admin(['occupancies', 'list', '--meter', meterId, '--json']);
    expect((JSON.parse(listed.stdout) as { items: unknown[] }).items).toEqual([
      expect.objectContaining({ occupancyId, meterId, to: null }),
    ]);
    const closed = await admin(['occupancies', 'close', occupancyId, '--to', to.toISOString(), '--json']);
    expect(closed.code, closed.stderr).toBe(0);
    expect(JSON.parse(closed.stdout)).toMatchObject({ occupancyId, to: to.toISOString() });
  });

  it("answers an auditor's write with 403 and a bad key with 401, showing the server's code, never the key", async () => {
    const created = await admin(['api-keys', 'create', '--role', 'auditor', '--name', 'audit desk']);
    expect(created.code, created.stderr).toBe(0);
    const auditorKey = created.stdout.trim();
    expect(auditorKey).toMatch(/^mk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).not.toContain(auditorKey);

    expect((await admin(['devices', 'list'], auditorKey)).code).toBe(0);
    const refused = await admin(['devices', 'suspend', batch.endpointNames[0]!], auditorKey);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^meterkeep-admin: 403 FORBIDDEN: /);
    const refusedJson = await admin(['occupancies', 'list', '--json'], auditorKey);
    expect(refusedJson.code).toBe(0);

    const secret = adminKey.slice(16);
    const badKey = `${adminKey.slice(0, 16)}${'A'.repeat(secret.length)}`;
    const unauthorised = await admin(['api-keys', 'list', '--json'], badKey);
    expect(unauthorised.code).toBe(1);
    expect(unauthorised.stderr).toMatch(/^meterkeep-admin: 401 [A-Z_]+: /);
    expect(JSON.parse(unauthorised.stdout)).toMatchObject({
      status: 401,
      code: expect.stringMatching(/^[A-Z_]+$/),
    });
    for (const output of [refused, unauthorised])
      for (const text of [output.stdout, output.stderr]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain(auditorKey.slice(16));
        expect(text).not.toContain('A'.repeat(20));
      }
  });

  it('revokes a key over REST: the revoked key is refused from then on', async () => {
    const created = await admin(['api-keys', 'create', '--role', 'operator']);
    const operatorKey = created.stdout.trim();
    const keyId = /^mk_([^_]+)_/.exec(operatorKey)![1]!;
    expect((await admin(['api-keys', 'revoke', keyId])).code).toBe(0);
    const refused = await admin(['devices', 'list'], operatorKey);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^meterkeep-admin: 401 /);
  });

  it('never left a key in the services logs', () => {
    const logs = ['enrollment', 'privacy']
      .map((name) => readFileSync(join(dir, `${name}.log`), 'utf8'))
      .join('\n');
    expect(logs).not.toContain(adminKey.slice(16));
  });
});
