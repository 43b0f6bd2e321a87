// The offline signer through its command line, in process: files written, read back, and checked by
// openssl and by the meter's own verifier.
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize, keyIdOf, verifyManifestEnvelope } from '@meterkeep/firmware';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli';
import { PASSPHRASE_ENV } from './io';

const dir = mkdtempSync(join(tmpdir(), 'meterkeep-firmware-signer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (...parts: string[]) => join(dir, ...parts);
const NOW = new Date('2026-12-02T12:00:00.000Z');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}, now = NOW): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    now: () => now,
  });
  return { code, stdout, stderr };
}

const manifestJson = {
  manifestVersion: 1,
  sequenceNumber: 43,
  vendorId: 'acme',
  classId: 'em300-v2',
  components: [
    {
      id: ['app'],
      version: '4.3.0',
      format: 'raw',
      digest: { alg: 'sha-256', value: createHash('sha256').update('firmware image').digest('hex') },
      size: 14,
    },
  ],
  issuedAt: '2026-12-01T12:00:00.000Z',
  expiresAt: '2027-03-01T12:00:00.000Z',
  description: 'Tariff engine 4.3',
};
const manifestPath = path('manifest.json');
writeFileSync(manifestPath, `${JSON.stringify(manifestJson, null, 2)}\n`);

/** Key material the tool must never print: every base64 line of every private key it wrote. */
const secretLines = (pemPath: string) =>
  readFileSync(pemPath, 'utf8')
    .split('\n')
    .filter((line) => line.length > 20 && !line.startsWith('-----'));
const expectNoSecret = (run: Run, pemPath: string) => {
  for (const line of secretLines(pemPath)) expect(`${run.stdout}${run.stderr}`).not.toContain(line);
};

describe('firmware-signer', () => {
  it('--version prints the tool and the release', async () => {
    const rootPackage = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
      version: string;
    };
    const run = await cli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `firmware-signer ${rootPackage.version}\n` });
  });

  it('answers an unknown command or option with the usage and exit 2', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['sign', '--nope'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
  });

  it('keygen writes an owner-only private key and a public key, never printing the private one', async () => {
    const run = await cli(['keygen', '--out', path('root')]);
    expect(run.code, run.stderr).toBe(0);
    expect(statSync(path('root', 'private.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(path('root')).mode & 0o777).toBe(0o700);
    const publicKey = createPublicKey(readFileSync(path('root', 'public.pem')));
    expect(run.stdout).toContain(`keyId ${keyIdOf(publicKey)}`);
    expectNoSecret(run, path('root', 'private.pem'));
    // Never overwrites.
    expect((await cli(['keygen', '--out', path('root')])).code).toBe(1);
  });

  it('sign writes the JCS bytes, a DER signature openssl accepts ("Verified OK") and the envelope', async () => {
    const run = await cli([
      'sign',
      '--key',
      path('root', 'private.pem'),
      '--manifest',
      manifestPath,
      '--out',
      path('signed'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expectNoSecret(run, path('root', 'private.pem'));
    const jcs = readFileSync(path('signed', 'manifest.jcs'));
    expect(jcs.toString('utf8')).toBe(canonicalize(manifestJson));
    const digest = createHash('sha256').update(jcs).digest('hex');
    expect(run.stdout).toContain(`digest ${digest}`);

    const openssl = spawnSync(
      'openssl',
      [
        'dgst',
        '-sha256',
        '-verify',
        path('root', 'public.pem'),
        '-signature',
        path('signed', 'manifest.sig'),
        path('signed', 'manifest.jcs'),
      ],
      { encoding: 'utf8' },
    );
    expect(`${openssl.stdout}${openssl.stderr}`.trim()).toBe('Verified OK');

    const result = verifyManifestEnvelope(
      readFileSync(path('signed', 'envelope.json')),
      { rootPublicKeys: [createPublicKey(readFileSync(path('root', 'public.pem')))] },
      NOW,
    );
    expect(result).toMatchObject({ ok: true, digest });
  });

  it('openssl refuses the signature over one changed byte', () => {
    const tampered = Buffer.from(readFileSync(path('signed', 'manifest.jcs')));
    tampered[tampered.length - 3]! ^= 0x01;
    writeFileSync(path('signed', 'tampered.jcs'), tampered);
    const openssl = spawnSync(
      'openssl',
      [
        'dgst',
        '-sha256',
        '-verify',
        path('root', 'public.pem'),
        '-signature',
        path('signed', 'manifest.sig'),
        path('signed', 'tampered.jcs'),
      ],
      { encoding: 'utf8' },
    );
    expect(`${openssl.stdout}${openssl.stderr}`).toContain('Verification failure');
  });

  it('verify accepts the envelope and refuses it under another root, with the failure code', async () => {
    const ok = await cli([
      'verify',
      '--public-key',
      path('root', 'public.pem'),
      '--envelope',
      path('signed', 'envelope.json'),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK digest [0-9a-f]{64}/);
    await cli(['keygen', '--out', path('stranger')]);
    const refused = await cli([
      'verify',
      '--public-key',
      path('stranger', 'public.pem'),
      '--envelope',
      path('signed', 'envelope.json'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('MANIFEST_SIGNATURE_INVALID');
  });

  it('sign refuses a manifest the meter would refuse (an unknown field), naming the field', async () => {
    const bad = path('bad-manifest.json');
    writeFileSync(bad, JSON.stringify({ ...manifestJson, installNow: true }));
    const run = await cli([
      'sign',
      '--key',
      path('root', 'private.pem'),
      '--manifest',
      bad,
      '--out',
      path('bad'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/installNow|Unrecognized key/);
  });

  it('delegate certifies a signing key; its signatures verify against the root; an expired delegation does not', async () => {
    await cli(['keygen', '--out', path('signing')]);
    const delegated = await cli([
      'delegate',
      '--root-key',
      path('root', 'private.pem'),
      '--signing-public-key',
      path('signing', 'public.pem'),
      '--days',
      '30',
      '--out',
      path('signing', 'cert.pem'),
    ]);
    expect(delegated.code, delegated.stderr).toBe(0);
    expectNoSecret(delegated, path('root', 'private.pem'));
    const signed = await cli([
      'sign',
      '--key',
      path('signing', 'private.pem'),
      '--signing-key-cert',
      path('signing', 'cert.pem'),
      '--manifest',
      manifestPath,
      '--out',
      path('signed-delegated'),
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const verify = (at?: string) =>
      cli([
        'verify',
        '--public-key',
        path('root', 'public.pem'),
        '--envelope',
        path('signed-delegated', 'envelope.json'),
        ...(at ? ['--at', at] : []),
      ]);
    expect((await verify()).code).toBe(0);
    const late = await verify('2027-01-02T12:00:00.000Z');
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/MANIFEST_SIGNATURE_INVALID.*expired/);
    // The certificate names another key than --key: refused before signing.
    const mismatch = await cli([
      'sign',
      '--key',
      path('root', 'private.pem'),
      '--signing-key-cert',
      path('signing', 'cert.pem'),
      '--manifest',
      manifestPath,
      '--out',
      path('mismatch'),
    ]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('certifies another key');
  });

  it('cosign adds a second signer over the same bytes: a two-signature policy (metrology) then passes', async () => {
    await cli(['keygen', '--out', path('second')]);
    const run = await cli([
      'cosign',
      '--key',
      path('second', 'private.pem'),
      '--envelope',
      path('signed', 'envelope.json'),
      '--out',
      path('cosigned'),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expectNoSecret(run, path('second', 'private.pem'));
    expect(
      readFileSync(path('cosigned', 'manifest.jcs')).equals(readFileSync(path('signed', 'manifest.jcs'))),
    ).toBe(true);
    const roots = ['root', 'second'].map((name) => createPublicKey(readFileSync(path(name, 'public.pem'))));
    const policy = { rootPublicKeys: roots, requiredSignatures: () => 2 };
    const one = verifyManifestEnvelope(readFileSync(path('signed', 'envelope.json')), policy, NOW);
    expect(one).toMatchObject({ ok: false, code: 'MANIFEST_SIGNATURES_INSUFFICIENT' });
    const two = verifyManifestEnvelope(readFileSync(path('cosigned', 'envelope.json')), policy, NOW);
    expect(two).toMatchObject({ ok: true, signerKeyIds: roots.map((key) => keyIdOf(key)) });
    const openssl = spawnSync(
      'openssl',
      [
        'dgst',
        '-sha256',
        '-verify',
        path('second', 'public.pem'),
        '-signature',
        path('cosigned', 'manifest.cosig'),
        path('cosigned', 'manifest.jcs'),
      ],
      { encoding: 'utf8' },
    );
    expect(`${openssl.stdout}${openssl.stderr}`.trim()).toBe('Verified OK');
  });

  it('keygen encrypts the private key when a passphrase is set, and sign needs it', async () => {
    const env = { [PASSPHRASE_ENV]: 'offline ceremony passphrase' };
    expect((await cli(['keygen', '--out', path('encrypted')], env)).code).toBe(0);
    expect(readFileSync(path('encrypted', 'private.pem'), 'utf8')).toMatch(
      /^-----BEGIN ENCRYPTED PRIVATE KEY-----/,
    );
    const args = [
      'sign',
      '--key',
      path('encrypted', 'private.pem'),
      '--manifest',
      manifestPath,
      '--out',
      path('enc-signed'),
    ];
    const without = await cli(args);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain(PASSPHRASE_ENV);
    const wrong = await cli(args, { [PASSPHRASE_ENV]: 'not-the-passphrase-7f3' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).not.toContain('not-the-passphrase-7f3');
    expect((await cli(args, env)).code).toBe(0);
  });
});
