// The factory CLI end to end, as the line runs it: the built CLI as a process, its files read back.
import { createHash, createPrivateKey, verify, X509Certificate } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FactoryBundle, addYears, parseBundle } from '@meterkeep/factory-bundle';
import {
  createCsr,
  fromPem,
  generateKeyPair,
  issueCertificate,
  parseCertificate,
  toPem,
  validateChain,
} from '@meterkeep/pki';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FactoryCli, PASSPHRASE, Scratch, bundleLines, openssl } from '../test/cli-harness';

// Each test runs the built CLI as processes (thousands of identities, SIGKILL and re-run): under a
// loaded CI machine that outgrows the unit tier's 5 s default.
vi.setConfig({ testTimeout: 60_000 });

const scratch = new Scratch();
let cli: FactoryCli;
afterAll(() => {
  cli?.cleanup();
  scratch.cleanup();
});

const ca = scratch.path('ca');
let bootstrapTrustAnchor: string;
let updateKey: string;

/** Options every batch of these tests shares. */
const batchOptions = () => [
  '--model',
  'EM300',
  '--ca',
  ca,
  '--bootstrap-uri',
  'https://bootstrap.utility.example:8443/bs',
  '--bootstrap-trust-anchor',
  bootstrapTrustAnchor,
  '--update-authority-key',
  updateKey,
  '--vendor-id',
  'acme',
  '--class-id',
  'em300-v2',
  '--param',
  'tariff=dual-rate',
  '--param',
  'region=north',
];

const mode = (path: string) => statSync(path).mode & 0o777;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const bundlesOf = (dir: string): FactoryBundle[] => bundleLines(dir).map((line) => parseBundle(line));

beforeAll(async () => {
  cli = new FactoryCli();
  updateKey = scratch.updateKey();
  bootstrapTrustAnchor = scratch.bootstrapTrustAnchor();
  const result = await cli.run(['ca', 'init', '--out', ca, '--name', 'Acme Meters']);
  expect(result.code, result.stderr).toBe(0);
});

describe('ca init', () => {
  it('writes the root and the intermediate, keys encrypted and owner-only, the passphrase never shown', async () => {
    const dir = scratch.path('ca-fresh');
    const result = await cli.run(['ca', 'init', '--out', dir, '--name', 'Fresh Meters', '--country', 'GB']);
    expect(result.code, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain(PASSPHRASE);
    expect(mode(dir)).toBe(0o700);
    for (const key of ['root.key.pem', 'intermediate.key.pem']) {
      expect(mode(join(dir, key))).toBe(0o600);
      const pem = readFileSync(join(dir, key), 'utf8');
      expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      expect(pem).not.toContain(PASSPHRASE);
    }
    const intermediate = new X509Certificate(readFileSync(join(dir, 'intermediate.pem')));
    expect(intermediate.verify(new X509Certificate(readFileSync(join(dir, 'root.pem'))).publicKey)).toBe(
      true,
    );
    expect(intermediate.subject).toContain('CN=Fresh Meters Factory CA');
    // Never over an existing CA.
    const again = await cli.run(['ca', 'init', '--out', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists: ca init never overwrites a CA/);
  });

  it('refuses a missing or short passphrase', async () => {
    const unset = await cli.run(['ca', 'init', '--out', scratch.path('ca-x')], {
      METERKEEP_CA_PASSPHRASE: '',
    });
    expect(unset).toMatchObject({
      code: 1,
      stderr: 'factory ca init: METERKEEP_CA_PASSPHRASE is not set: the CA keys are encrypted under it\n',
    });
    const short = await cli.run(['ca', 'init', '--out', scratch.path('ca-x')], {
      METERKEEP_CA_PASSPHRASE: 'short',
    });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('at least 12 characters');
  });

  it('a batch under a wrong passphrase is refused with a clear message, and nothing written', async () => {
    const out = scratch.path('wrong-passphrase');
    const result = await cli.run(['batch', 'create', '--count', '5', '--out', out, ...batchOptions()], {
      METERKEEP_CA_PASSPHRASE: 'not the right passphrase',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `factory batch create: wrong passphrase for ${join(ca, 'intermediate.key.pem')}\n`,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('ca prove', () => {
  it("writes a certificate whose CN is the utility's code, signed by the factory CA", async () => {
    const out = scratch.path('proof.pem');
    const result = await cli.run(['ca', 'prove', '--ca', ca, '--code', 'a1b2c3d4e5f60718', '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    const proof = parseCertificate(readFileSync(out, 'utf8'));
    const intermediate = parseCertificate(readFileSync(join(ca, 'intermediate.pem'), 'utf8'));
    expect(proof.subject.commonName).toBe('a1b2c3d4e5f60718');
    expect(() =>
      validateChain({ leaf: proof, intermediates: [], trustAnchors: [intermediate], at: new Date() }),
    ).not.toThrow();
  });

  it('refuses without the passphrase, and a malformed code', async () => {
    const out = scratch.path('proof-x.pem');
    const wrong = await cli.run(['ca', 'prove', '--ca', ca, '--code', 'a1b2c3d4e5f60718', '--out', out], {
      METERKEEP_CA_PASSPHRASE: 'not the right passphrase',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('wrong passphrase');
    const bad = await cli.run(['ca', 'prove', '--ca', ca, '--code', 'x y', '--out', out]);
    expect(bad.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});

describe('batch create (certificates)', () => {
  const out = scratch.path('batch-cert');
  let bundles: FactoryBundle[];

  beforeAll(async () => {
    const result = await cli.run([
      'batch',
      'create',
      '--count',
      '2500',
      '--out',
      out,
      '--workers',
      '2',
      ...batchOptions(),
    ]);
    expect(result.code, result.stderr).toBe(0);
    bundles = bundlesOf(out);
  });

  it('writes 2,500 bundles in 3 chunks, owner-only, each a valid bundle', () => {
    expect(readdirSync(join(out, 'bundles')).sort()).toEqual([
      'chunk-000000.jsonl',
      'chunk-000001.jsonl',
      'chunk-000002.jsonl',
    ]);
    expect(mode(out)).toBe(0o700);
    for (const name of readdirSync(join(out, 'bundles')))
      expect(mode(join(out, 'bundles', name))).toBe(0o600);
    expect(bundles.length).toBe(2500);
    expect(new Set(bundles.map((b) => b.serialNumber)).size).toBe(2500);
    expect(new Set(bundles.map((b) => b.endpointName)).size).toBe(2500);
    const first = bundles[0]!;
    expect(first).toMatchObject({
      model: 'EM300',
      vendorId: 'acme',
      classId: 'em300-v2',
      customParameters: { tariff: 'dual-rate', region: 'north' },
      expectedLifeYears: 15,
      bootstrap: { serverUri: 'https://bootstrap.utility.example:8443/bs' },
    });
    expect(first.endpointName).toMatch(/^EM300-\d{8}-[0-9a-f]{8}-000001$/);
    expect(first.credential).toMatchObject({ kind: 'certificate', keyLocation: 'bundle' });
  });

  it("writes the enrollment list: header, a row per meter, fingerprints of the bundles' certificates", () => {
    const lines = readFileSync(join(out, 'enrollment-list.csv'), 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('endpoint_name,certificate_sha256,model,batch_id,class_id');
    expect(lines.length).toBe(2501);
    bundles.forEach((bundle, i) => {
      if (bundle.credential.kind !== 'certificate') throw new Error('certificate batch');
      const fingerprint = sha256(fromPem(bundle.credential.certificatePem, 'CERTIFICATE'));
      expect(lines[i + 1]).toBe(`${bundle.endpointName},${fingerprint},EM300,${bundle.batchId},em300-v2`);
    });
  });

  it('signs the manifest with the intermediate key, over the digest of the enrollment list', () => {
    const manifestBytes = readFileSync(join(out, 'manifest.json'));
    const manifest = JSON.parse(manifestBytes.toString()) as Record<string, unknown>;
    const intermediate = parseCertificate(readFileSync(join(ca, 'intermediate.pem'), 'utf8'));
    const signature = readFileSync(join(out, 'manifest.sig'));
    expect(verify('sha256', manifestBytes, intermediate.publicKey, signature)).toBe(true);
    expect(manifest).toMatchObject({
      count: 2500,
      serialRange: { first: bundles[0]!.serialNumber, last: bundles[2499]!.serialNumber },
      ca: {
        intermediateSha256: intermediate.fingerprintSha256,
        rootSha256: parseCertificate(readFileSync(join(ca, 'root.pem'), 'utf8')).fingerprintSha256,
      },
      enrollmentList: {
        file: 'enrollment-list.csv',
        sha256: sha256(readFileSync(join(out, 'enrollment-list.csv'))),
        rows: 2500,
      },
    });
    // A tampered manifest no longer verifies; and openssl agrees on the genuine one (an outside check).
    expect(
      verify(
        'sha256',
        Buffer.from(manifestBytes.toString().replace('2500', '2501')),
        intermediate.publicKey,
        signature,
      ),
    ).toBe(false);
    const publicKey = scratch.write(
      'intermediate.pub.pem',
      intermediate.publicKey.export({ type: 'spki', format: 'pem' }),
    );
    expect(
      openssl(
        'dgst',
        '-sha256',
        '-verify',
        publicKey,
        '-signature',
        join(out, 'manifest.sig'),
        join(out, 'manifest.json'),
      ).output,
    ).toContain('Verified OK');
  });

  it('issues certificates that openssl verifies against the CA chain, for TLS clients (an outside check)', () => {
    const bundle = bundles[1234]!;
    if (bundle.credential.kind !== 'certificate' || bundle.credential.keyLocation !== 'bundle')
      throw new Error('certificate batch');
    const leaf = scratch.write('leaf.pem', bundle.credential.certificatePem);
    const result = openssl(
      'verify',
      '-x509_strict',
      '-purpose',
      'sslclient',
      '-CAfile',
      join(ca, 'root.pem'),
      '-untrusted',
      join(ca, 'intermediate.pem'),
      leaf,
    );
    expect(result.output).toContain('leaf.pem: OK');
    expect(result.status).toBe(0);
    const key = scratch.write('leaf.key.pem', bundle.credential.privateKeyPem);
    expect(openssl('pkey', '-in', key, '-check', '-noout').output).toContain('Key is valid');
    const text = openssl('x509', '-in', leaf, '-noout', '-subject', '-serial', '-enddate').output;
    expect(text).toContain(`CN = ${bundle.endpointName}`);
    expect(text.toLowerCase()).toContain(`serial=${bundle.serialNumber}`);
    // Valid for the 15-year life, plus a margin.
    expect(new X509Certificate(bundle.credential.certificatePem).validToDate.getTime()).toBeGreaterThan(
      addYears(new Date(), 15).getTime(),
    );
  });

  it('passes batch verify', async () => {
    const result = await cli.run(['batch', 'verify', out, '--ca', ca]);
    expect(result.stdout).toMatch(/2500 bundles verified, no failure/);
    expect(result.code).toBe(0);
  });

  it('says so when run again on a complete batch, and refuses other options on it', async () => {
    const again = await cli.run(['batch', 'create', '--count', '2500', '--out', out, ...batchOptions()]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('is already complete');
    const other = await cli.run(['batch', 'create', '--count', '3000', '--out', out, ...batchOptions()]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/begun with different count/);
  });
});

describe('batch create, interrupted', () => {
  it('continues where it stopped when run again: exact count, no duplicate serial or name', async () => {
    const out = scratch.path('batch-killed');
    const args = ['batch', 'create', '--count', '2100', '--out', out, ...batchOptions()];
    // One worker, so the kill lands after the first chunk and well before the last.
    const child = cli.spawn([...args, '--workers', '1']);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const first = join(out, 'bundles', 'chunk-000000.jsonl');
    const started = Date.now();
    while (!existsSync(first) && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(out, 'bundles', 'chunk-000002.jsonl'))).toBe(false);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    const survivor = readFileSync(first, 'utf8');

    const result = await cli.run(args);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(first, 'utf8')).toBe(survivor); // kept, not made again
    const bundles = bundlesOf(out);
    expect(bundles.length).toBe(2100);
    expect(new Set(bundles.map((b) => b.serialNumber)).size).toBe(2100);
    expect(new Set(bundles.map((b) => b.endpointName)).size).toBe(2100);
    expect(readFileSync(join(out, 'enrollment-list.csv'), 'utf8').trimEnd().split('\n').length).toBe(2101);
    expect(readdirSync(join(out, 'bundles')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const verified = await cli.run(['batch', 'verify', out, '--ca', ca]);
    expect(verified.code, verified.stdout).toBe(0);
  });
});

describe('batch create --credential psk', () => {
  it('gives each meter a PSK identity and a 256-bit key; the owner-only list carries them for the utility', async () => {
    const out = scratch.path('batch-psk');
    const result = await cli.run([
      'batch',
      'create',
      '--count',
      '40',
      '--credential',
      'psk',
      '--out',
      out,
      ...batchOptions(),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const list = join(out, 'enrollment-list.csv');
    expect(mode(list)).toBe(0o600);
    const rows = readFileSync(list, 'utf8').trimEnd().split('\n');
    expect(rows[0]).toBe('endpoint_name,psk_identity,psk_key_base64,model,batch_id,class_id');
    const bundles = bundlesOf(out);
    expect(rows.length).toBe(41);
    bundles.forEach((bundle, i) => {
      if (bundle.credential.kind !== 'psk') throw new Error('psk batch');
      expect(Buffer.from(bundle.credential.pskBase64, 'base64').length).toBe(32);
      expect(rows[i + 1]).toBe(
        `${bundle.endpointName},${bundle.credential.pskIdentity},${bundle.credential.pskBase64},EM300,${bundle.batchId},${bundle.classId}`,
      );
    });
    expect(
      new Set(bundles.map((b) => (b.credential.kind === 'psk' ? b.credential.pskBase64 : ''))).size,
    ).toBe(40);
    expect(`${result.stdout}${result.stderr}`).not.toContain(
      (bundles[0]!.credential as { pskBase64: string }).pskBase64,
    );
    expect((await cli.run(['batch', 'verify', out, '--ca', ca])).code).toBe(0);
  });
});

describe('batch sign-csrs', () => {
  it('certifies good CSRs, reports bad ones by line, and no private key exists in its output', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 12; i++) {
      const endpointName = `DEV-${String(i).padStart(6, '0')}`;
      const key = generateKeyPair();
      let csrPem = createCsr({
        privateKey: key.privateKey,
        subject: { commonName: i === 4 ? 'DEV-999999' : endpointName },
      }).pem;
      if (i === 7) {
        const der = fromPem(csrPem, 'CERTIFICATE REQUEST');
        der[der.length - 5]! ^= 0x01; // inside the signature
        csrPem = toPem(der, 'CERTIFICATE REQUEST');
      }
      lines.push(JSON.stringify({ endpointName, csrPem }));
    }
    const input = scratch.write('csrs.jsonl', `${lines.join('\n')}\n`);
    const out = scratch.path('batch-csr');
    const result = await cli.run(['batch', 'sign-csrs', '--in', input, '--out', out, ...batchOptions()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 4 (DEV-000004): CSR_SUBJECT_MISMATCH');
    expect(result.stderr).toContain('line 7 (DEV-000007): CSR_BAD_SIGNATURE');
    expect(result.stderr).toContain('2 CSR(s) refused');
    const rejected = readFileSync(join(out, 'rejected.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; code: string });
    expect(rejected.map((r) => [r.line, r.code])).toEqual([
      [4, 'CSR_SUBJECT_MISMATCH'],
      [7, 'CSR_BAD_SIGNATURE'],
    ]);

    const bundles = bundlesOf(out);
    expect(bundles.map((b) => b.endpointName)).toEqual(
      [1, 2, 3, 5, 6, 8, 9, 10, 11, 12].map((i) => `DEV-${String(i).padStart(6, '0')}`),
    );
    for (const bundle of bundles)
      expect(bundle.credential).toMatchObject({ kind: 'certificate', keyLocation: 'device' });
    for (const file of [
      ...readdirSync(join(out, 'bundles')).map((n) => join('bundles', n)),
      ...readdirSync(out),
    ]) {
      const path = join(out, file);
      if (statSync(path).isFile()) expect(readFileSync(path, 'utf8')).not.toContain('PRIVATE KEY');
    }
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'))).toMatchObject({
      count: 10,
      keyLocation: 'device',
    });
    const verified = await cli.run(['batch', 'verify', out, '--ca', ca]);
    expect(verified.code, verified.stdout).toBe(0);
  });
});

describe('batch verify', () => {
  const good = scratch.path('batch-verify');
  const damaged = scratch.path('batch-damaged');
  let report: string[];
  const line = (n: number) => new RegExp(`^bundles/chunk-000000\\.jsonl:${n}\\b`);
  const failuresOf = (n: number) => report.filter((l) => line(n).test(l));

  type Credential = { certificatePem: string; privateKeyPem: string };
  const edit = (text: string, change: (b: FactoryBundle & { credential: Credential }) => unknown) =>
    JSON.stringify(change(JSON.parse(text) as FactoryBundle & { credential: Credential }));

  /** A certificate for the same meter, key and serial, valid 5 years only. */
  function shortLived(bundle: FactoryBundle): { certificatePem: string; privateKeyPem: string } {
    const issuer = {
      certificate: parseCertificate(readFileSync(join(ca, 'intermediate.pem'), 'utf8')),
      privateKey: createPrivateKey({
        key: readFileSync(join(ca, 'intermediate.key.pem'), 'utf8'),
        passphrase: PASSPHRASE,
      }),
    };
    const key = generateKeyPair();
    const certificate = issueCertificate({
      issuer,
      profile: 'factory-device',
      subject: { commonName: bundle.endpointName },
      subjectPublicKey: key.publicKey,
      serial: Buffer.from(bundle.serialNumber, 'hex'),
      notBefore: new Date(bundle.issuedAt),
      notAfter: addYears(new Date(bundle.issuedAt), 5),
    });
    return {
      certificatePem: certificate.pem,
      privateKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
  }

  // One batch, one damage per bundle, one verify run: every failure must show up in the one report.
  beforeAll(async () => {
    const created = await cli.run(['batch', 'create', '--count', '20', '--out', good, ...batchOptions()]);
    expect(created.code, created.stderr).toBe(0);
    cpSync(good, damaged, { recursive: true });
    const chunk = join(damaged, 'bundles', 'chunk-000000.jsonl');
    const lines = readFileSync(chunk, 'utf8').trimEnd().split('\n');
    // 1 and 2: private keys swapped.
    const keyOf = (text: string) => (JSON.parse(text) as { credential: Credential }).credential.privateKeyPem;
    const [key1, key2] = [keyOf(lines[0]!), keyOf(lines[1]!)];
    lines[0] = edit(lines[0]!, (b) => ((b.credential.privateKeyPem = key2), b));
    lines[1] = edit(lines[1]!, (b) => ((b.credential.privateKeyPem = key1), b));
    // 3: a configured parameter missing; 4: a required field missing.
    lines[2] = edit(lines[2]!, (b) => ({ ...b, customParameters: { region: 'north' } }));
    lines[3] = edit(lines[3]!, ({ vendorId: _vendorId, ...b }) => b);
    // 5: one character of the certificate flipped (still valid base64).
    lines[4] = edit(lines[4]!, (b) => {
      const pem = b.credential.certificatePem;
      const at = pem.indexOf('\n', 40) + 30;
      b.credential.certificatePem = pem.slice(0, at) + (pem[at] === 'A' ? 'B' : 'A') + pem.slice(at + 1);
      return b;
    });
    // 10: a genuine certificate whose validity stops short of the 15-year life.
    lines[9] = edit(lines[9]!, (b) => (Object.assign(b.credential, shortLived(b)), b));
    // 20: the file cut in the middle of its last line.
    const text = `${lines.join('\n')}\n`;
    const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
    writeFileSync(chunk, text.slice(0, lastStart + Math.floor((text.length - lastStart) / 2)));

    const result = await cli.run(['batch', 'verify', damaged, '--ca', ca]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/20 bundles checked, \d+ failure\(s\)/);
    report = result.stdout.trimEnd().split('\n');
  });

  it('passes the undamaged batch', async () => {
    const result = await cli.run(['batch', 'verify', good, '--ca', ca]);
    expect(result.stdout).toContain('20 bundles verified, no failure');
    expect(result.code).toBe(0);
  });

  it('reports a key that does not match its certificate', () => {
    expect(failuresOf(1)).toEqual([expect.stringMatching(/:1 \(EM300-[^)]+-000001\): KEY_MISMATCH: /)]);
    expect(failuresOf(2)).toEqual([expect.stringMatching(/: KEY_MISMATCH: /)]);
  });

  it('reports a bundle missing a required parameter, or a required field', () => {
    expect(failuresOf(3)).toEqual([
      expect.stringMatching(/: PARAMETER_MISSING: custom parameter tariff is missing$/),
    ]);
    expect(failuresOf(4)).toEqual([
      expect.stringMatching(/^bundles\/chunk-000000\.jsonl:4: BUNDLE_UNREADABLE: .*vendorId/),
    ]);
  });

  it('reports a corrupted certificate, and the enrollment row that no longer matches it', () => {
    expect(failuresOf(5).join('\n')).toMatch(/: (CERTIFICATE_MALFORMED|CHAIN_INVALID): /);
    expect(report).toContainEqual(
      expect.stringMatching(/^enrollment-list\.csv:6: ENROLLMENT_MISMATCH: row for EM300-[^ ]+-000005 /),
    );
  });

  it('reports a certificate whose validity does not cover the expected life', () => {
    expect(failuresOf(10)).toContainEqual(
      expect.stringMatching(
        /: LIFETIME_NOT_COVERED: certificate expires .*before the end of the meter's 15-year life/,
      ),
    );
  });

  it('reports a truncated chunk', () => {
    expect(report).toContain(
      'bundles/chunk-000000.jsonl: CHUNK_TRUNCATED: the last line is not complete: the file was cut short',
    );
    expect(failuresOf(20)).toEqual([
      expect.stringMatching(/:20: BUNDLE_UNREADABLE: Bundle is not valid JSON/),
    ]);
  });

  it('reports nothing about the bundles left intact', () => {
    for (const n of [6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19]) expect(failuresOf(n)).toEqual([]);
  });

  it('refuses to judge without a manufacturer root of its own, and fails every chain under another', async () => {
    const result = await cli.run(['batch', 'verify', good]);
    expect(result.code).toBe(2);
    const other = await cli.run(['batch', 'verify', good, '--root', bootstrapTrustAnchor]);
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/^batch\.json: CA_MISMATCH/m);
    expect(other.stdout.match(/CHAIN_INVALID/g)).toHaveLength(20);
  });
});

describe('the command line', () => {
  it('answers --help on every command, refuses unknown ones with the usage (exit 2), never prints a stack trace', async () => {
    // (cli.spec.ts asks every command for --help in-process; here, the built CLI answers one.)
    const help = await cli.run(['batch', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: factory batch create');
    const unknown = await cli.run(['batch', 'mint']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Usage: npm run factory -- <command>');
    const broken = await cli.run([
      'batch',
      'create',
      '--count',
      '10',
      '--out',
      scratch.path('x'),
      ...batchOptions(),
      '--bootstrap-trust-anchor',
      '/nonexistent.pem',
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    expect(broken.stderr).not.toMatch(/^\s+at /m);
  });
});
