import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT, type FactoryBundle } from '@meterkeep/factory-bundle';
import {
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
  parseCsr,
  type CertificateAuthority,
} from '@meterkeep/pki';
import { BootstrapClient, pskProof } from './bootstrap-client';
import { MeterStorage } from './meter-storage';

// A stand-in bootstrap server over real TLS: what is under test is the meter's side of the exchange.
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const validity = { notBefore: now, notAfter: new Date(now.getTime() + 365 * 864e5) };
let serverCa: CertificateAuthority;
let strangerCa: CertificateAuthority;
let manufacturer: CertificateAuthority;
let server: Server | undefined;

beforeAll(() => {
  serverCa = createRootCa({ subject: { commonName: 'Bootstrap Server CA' }, validity });
  strangerCa = createRootCa({ subject: { commonName: 'Someone Else' }, validity });
  manufacturer = createRootCa({ subject: { commonName: 'Acme Meters Root' }, validity });
});
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

function serverCertificate(ca: CertificateAuthority) {
  const keys = generateKeyPair();
  const certificate = issueCertificate({
    issuer: ca,
    subjectPublicKey: keys.publicKey,
    subject: { commonName: 'localhost' },
    profile: 'server',
    sans: { dns: ['localhost'], ip: ['127.0.0.1'] },
    ...validity,
  });
  return { key: exportPrivateKey(keys.privateKey) as string, cert: certificate.pem };
}

function certificateBundle(): FactoryBundle {
  const keys = generateKeyPair();
  const certificate = issueCertificate({
    issuer: manufacturer,
    subjectPublicKey: keys.publicKey,
    subject: { commonName: 'MTR-1' },
    profile: 'factory-device',
    ...validity,
  });
  return {
    format: BUNDLE_FORMAT,
    endpointName: 'MTR-1',
    batchId: 'b1',
    model: 'EM300',
    serialNumber: certificate.serialHex,
    credential: {
      kind: 'certificate',
      keyLocation: 'bundle',
      privateKeyPem: exportPrivateKey(keys.privateKey) as string,
      certificatePem: certificate.pem,
      chainPem: [manufacturer.certificate.pem],
    },
    bootstrap: { serverUri: 'https://localhost:1', trustAnchorPem: serverCa.certificate.pem },
    vendorId: 'acme',
    classId: 'em300',
    updateAuthorityPublicKeyPem: generateKeyPair().publicKey.export({
      type: 'spki',
      format: 'pem',
    }) as string,
    customParameters: {},
    expectedLifeYears: 1,
    issuedAt: now.toISOString(),
  };
}

const answer = (endpointName: string) => ({
  endpointName,
  tenantId: 't1',
  certificatePem: 'CERT',
  chainPem: ['CHAIN'],
  serverTime: now.toISOString(),
  renewal: { notAfter: now.toISOString(), renewAfter: now.toISOString() },
  servers: { telemetry: { uri: 'https://t' }, ota: { uri: 'https://o' }, bootstrap: { uri: 'https://b' } },
  serverTrustAnchorsPem: [serverCa.certificate.pem],
});

type Handler = (
  path: string,
  body: Record<string, string>,
  peerCn: string | undefined,
) => [number, unknown, number?];

async function listen(ca: CertificateAuthority, handler: Handler): Promise<string> {
  server = createServer(
    { ...serverCertificate(ca), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        const cn = peer && 'subject' in peer ? peer.subject?.CN : undefined;
        const [status, body, retryAfter] = handler(
          req.url ?? '',
          JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, string>,
          cn as string,
        );
        if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    },
  );
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `https://localhost:${(server.address() as AddressInfo).port}`;
}

const storage = () => new MeterStorage(mkdtempSync(join(tmpdir(), 'meter-')));
const noSleep = () => Promise.resolve();

describe('a meter bootstrapping', () => {
  it('presents its factory certificate, sends a CSR for a key it made, and keeps the answer', async () => {
    const seen: { cn?: string; csrCn?: string } = {};
    const url = await listen(serverCa, (path, body, cn) => {
      seen.cn = cn;
      seen.csrCn = parseCsr(body.csrPem!).subject.commonName;
      return [200, answer('MTR-1')];
    });
    const meterStorage = storage();
    const client = new BootstrapClient(certificateBundle(), meterStorage, {
      bootstrapUrl: url,
      sleep: noSleep,
    });
    const credential = await client.bootstrap();
    expect(seen).toEqual({ cn: 'MTR-1', csrCn: 'MTR-1' });
    expect(credential.privateKeyPem).toContain('PRIVATE KEY');
    expect(new BootstrapClient(certificateBundle(), meterStorage).operational()?.certificatePem).toBe('CERT');
  });

  it('waits longer each time it is told to retry later (503 NOT_YET_KNOWN), never less than Retry-After', async () => {
    let calls = 0;
    const url = await listen(serverCa, () =>
      ++calls < 10 ? [503, { code: 'NOT_YET_KNOWN', message: '' }, 1] : [200, answer('MTR-1')],
    );
    const waits: number[] = [];
    const client = new BootstrapClient(certificateBundle(), storage(), {
      bootstrapUrl: url,
      sleep: (ms) => (waits.push(ms), Promise.resolve()),
      random: () => 0.5,
      retryForMs: 3_600_000,
    });
    await client.bootstrap();
    expect(waits).toHaveLength(9);
    expect(waits.every((ms) => ms >= 1_000)).toBe(true);
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThanOrEqual(waits[i - 1]!);
    // 250 ms doubling, at three quarters with this jitter: past the 1 s hint from the fifth wait on.
    expect(waits.at(-1)).toBe(250 * 2 ** 8 * 0.75);
  });

  it('gives up on a refusal at once, with its code', async () => {
    let calls = 0;
    const url = await listen(serverCa, () => (calls++, [403, { code: 'CA_DISABLED', message: 'no' }]));
    const client = new BootstrapClient(certificateBundle(), storage(), { bootstrapUrl: url, sleep: noSleep });
    await expect(client.bootstrap()).rejects.toMatchObject({ status: 403, code: 'CA_DISABLED' });
    expect(calls).toBe(1);
  });

  it('refuses to talk to a server whose certificate does not chain to its trust anchor', async () => {
    let calls = 0;
    const url = await listen(strangerCa, () => (calls++, [200, answer('MTR-1')]));
    const client = new BootstrapClient(certificateBundle(), storage(), {
      bootstrapUrl: url,
      retryForMs: 0,
      sleep: noSleep,
    });
    await expect(client.bootstrap()).rejects.toThrow(/certificate/i);
    expect(calls).toBe(0);
  });

  it('proves a PSK over the server nonce and its CSR, and never sends the key', async () => {
    const psk = Buffer.alloc(32, 7);
    const bundle: FactoryBundle = {
      ...certificateBundle(),
      credential: { kind: 'psk', pskIdentity: 'psk-MTR-1', pskBase64: psk.toString('base64') },
    };
    const bodies: string[] = [];
    const nonce = 'n0nce'.padEnd(43, '-');
    const url = await listen(serverCa, (path, body) => {
      bodies.push(JSON.stringify(body));
      if (path === '/bs/v1/psk/nonce') return [200, { nonce, expiresAt: now.toISOString() }];
      const csrDer = Buffer.from(body.csrPem!.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      const expected = createHmac('sha256', psk)
        .update(
          Buffer.concat([Buffer.from(nonce), Buffer.from([0]), createHash('sha256').update(csrDer).digest()]),
        )
        .digest('base64');
      return body.proof === expected && body.nonce === nonce
        ? [200, answer('MTR-1')]
        : [403, { code: 'BAD_PSK_PROOF' }];
    });
    await new BootstrapClient(bundle, storage(), { bootstrapUrl: url, sleep: noSleep }).bootstrap();
    expect(bodies.join()).not.toContain(psk.toString('base64'));
    expect(pskProof(psk, 'a', '')).not.toBe(pskProof(psk, 'b', ''));
  });
});

describe('what a meter accepts from bootstrap', () => {
  it('refuses a 200 whose body is not a bootstrap answer, and keeps nothing', async () => {
    const { serverTrustAnchorsPem: _dropped, ...partial } = answer('MTR-1');
    const url = await listen(serverCa, () => [200, partial]);
    const meterStorage = storage();
    const client = new BootstrapClient(certificateBundle(), meterStorage, {
      bootstrapUrl: url,
      sleep: noSleep,
    });
    await expect(client.bootstrap()).rejects.toThrow(/serverTrustAnchorsPem/);
    expect(client.operational()).toBeUndefined();
  });

  it('reads a refusal that is not `{ code, message }` as UNKNOWN', async () => {
    const url = await listen(serverCa, () => [403, 'Forbidden by a proxy']);
    const client = new BootstrapClient(certificateBundle(), storage(), { bootstrapUrl: url, sleep: noSleep });
    await expect(client.bootstrap()).rejects.toMatchObject({ status: 403, code: 'UNKNOWN' });
  });
});

describe('the directive keys a meter pins from bootstrap', () => {
  const p256 = () =>
    String(
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        type: 'spki',
        format: 'pem',
      }),
    );
  const withKeys = (keys?: string[]) => {
    const base = answer('MTR-1');
    return {
      ...base,
      servers: { ...base.servers, ota: { uri: 'https://o', ...(keys && { directivePublicKeysPem: keys }) } },
    };
  };
  const spkiOf = (keys: { export: (o: { type: 'spki'; format: 'pem' }) => string | Buffer }[]) =>
    keys.map((key) => String(key.export({ type: 'spki', format: 'pem' })));

  it('pins the keys of the answer, replaces them on rotation, and keeps them when an answer names none', async () => {
    const [current, next] = [p256(), p256()];
    const answers = [withKeys([current]), withKeys([current, next]), withKeys(undefined), withKeys([next])];
    const url = await listen(serverCa, () => [200, answers.shift()]);
    const meterStorage = storage();
    const client = new BootstrapClient(certificateBundle(), meterStorage, {
      bootstrapUrl: url,
      sleep: noSleep,
    });
    expect(client.directivePublicKeys()).toEqual([]);

    await client.bootstrap();
    expect(spkiOf(client.directivePublicKeys())).toEqual([current]);
    await client.bootstrap();
    expect(spkiOf(client.directivePublicKeys())).toEqual([current, next]);
    await client.bootstrap(); // a server before contract 1.1
    expect(spkiOf(client.directivePublicKeys())).toEqual([current, next]);
    await client.bootstrap();
    // Kept in the meter's memory: a restarted meter reads the same pin.
    expect(spkiOf(new BootstrapClient(certificateBundle(), meterStorage).directivePublicKeys())).toEqual([
      next,
    ]);
  });

  it.each([
    [
      'a key on another curve',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
          type: 'spki',
          format: 'pem',
        }),
    ],
    [
      'an RSA key',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }),
    ],
    ['a certificate', () => serverCa.certificate.pem],
    ['text', () => '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n'],
  ])('refuses an answer naming %s, and keeps nothing', async (_, key) => {
    const url = await listen(serverCa, () => [200, withKeys([p256(), String(key())])]);
    const client = new BootstrapClient(certificateBundle(), storage(), { bootstrapUrl: url, sleep: noSleep });
    await expect(client.bootstrap()).rejects.toMatchObject({ code: 'DIRECTIVE_KEY_INVALID' });
    expect(client.operational()).toBeUndefined();
    expect(client.directivePublicKeys()).toEqual([]);
  });
});
