import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainAuditEvents, EMPTY_CHAIN } from '@meterkeep/audit';
import { type UnsignedErasureCertificate, signCertificate } from './erasure-certificate';
import { MAX_CERTIFICATE_BYTES } from './fetch-certificate';
import { runVerifyErasure } from './verify-erasure-cli';

// The fetch's own logic against a tiny local HTTP server (the real service is in erasures.int-spec):
// what it answers is hostile until its signature checks, so every refusal here happens before the
// verifier touches the vault or Kafka (their endpoints below are closed ports).

const KEY = 'mk_abcdefghijkl_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
const ERASURE = 'er-0b7d3c1e-5a2f-4c8e-9d1b-2f3a4b5c6d7e';
const SUBJECT = 'subj-1';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function certificate(requestId = ERASURE): UnsignedErasureCertificate {
  const { events, head } = chainAuditEvents(
    't1',
    EMPTY_CHAIN,
    [{ action: 'privacy.erasure-requested', actor: 'admin', subject: requestId, outcome: 'allowed' }],
    new Date(1_000),
  );
  return {
    certificateVersion: 1,
    certificateId: 'ec-1',
    tenantId: 't1',
    requestId,
    subjectRef: SUBJECT,
    requestedAt: '2026-12-01T00:00:00.000Z',
    keysDestroyedAt: '2026-12-01T00:00:01.000Z',
    certifiedAt: '2026-12-01T00:00:02.000Z',
    method: 'cryptographic erase',
    scope: { occupancies: [] },
    keysDestroyed: [],
    dataInventory: { kafka: [], s3: [], postgres: [] },
    confirmations: [],
    retainedUnderException: [],
    residualCopies: [{ where: 'cache', what: 'plain data key', maxLifetimeSeconds: 60 }],
    verification: { recordsChecked: 0, decryptFailures: 0, liveKeysTried: 0, vaultAnswer: 'KEY_DESTROYED' },
    audit: { chainHeadBefore: EMPTY_CHAIN, chainHeadAfter: head, sequences: [1], records: events },
  };
}

describe('verify-erasure --erasure-id: the certificate fetched from privacy', () => {
  let server: Server;
  let answer: (res: ServerResponse) => void = (res) => res.end();
  const seen: { url: string; authorization?: string }[] = [];
  let baseUrl: string;
  let publicKeyFile: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-certificate-'));
    publicKeyFile = join(dir, 'certificate-key.pub.pem');
    writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
    server = createServer((req, res) => {
      seen.push({ url: req.url!, authorization: req.headers.authorization });
      answer(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const json = (status: number, body: unknown) => (res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const run = async (env: NodeJS.ProcessEnv = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runVerifyErasure(
      ['--erasure-id', ERASURE, '--subject', SUBJECT, '--public-key', publicKeyFile],
      {
        env: {
          DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
          KAFKA_BROKERS: '127.0.0.1:1',
          S3_ENDPOINT: 'http://127.0.0.1:1',
          S3_ACCESS_KEY_ID: 'unused',
          S3_SECRET_ACCESS_KEY: 'unused',
          PRIVACY_KEK: Buffer.alloc(32, 7).toString('base64'),
          METERKEEP_PRIVACY_URL: baseUrl,
          METERKEEP_API_KEY: KEY,
          ...env,
        },
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      },
    );
    const report = out.length
      ? (JSON.parse(out.join('\n')) as {
          ok: boolean;
          checks: { name: string; ok: boolean; detail: string }[];
        })
      : undefined;
    // Never the key, whatever happened.
    expect([...out, ...err].join('\n')).not.toContain(KEY.slice(16));
    return { code, report, err: err.join('\n') };
  };

  it('asks the subject route with the API key as a bearer token; a tampered certificate fails its signature and nothing else is read', async () => {
    const signed = signCertificate(certificate(), privateKey);
    answer = json(200, { ...signed, keysDestroyed: [], method: 'cryptographic erase (edited)' });
    seen.length = 0;
    const { code, report, err } = await run();
    expect(seen).toEqual([
      { url: `/v1/subjects/${SUBJECT}/erasures/${ERASURE}/certificate`, authorization: `Bearer ${KEY}` },
    ]);
    expect(err).toBe('');
    expect(code).toBe(1);
    expect(report).toEqual({
      ok: false,
      checks: [
        { name: 'signature', ok: false, detail: expect.any(String) },
        { name: 'erasure', ok: true, detail: `${ERASURE} of ${SUBJECT}` },
      ],
    });
  });

  it("refuses another erasure's certificate, however well signed", async () => {
    const other = 'er-11111111-2222-4333-8444-555555555555';
    answer = json(200, signCertificate(certificate(other), privateKey));
    const { code, report } = await run();
    expect(code).toBe(1);
    expect(report?.checks).toEqual([
      { name: 'signature', ok: true, detail: expect.any(String) },
      { name: 'erasure', ok: false, detail: expect.stringContaining(`answered ${other}`) },
    ]);
  });

  it('refuses an answer over 1 MiB before parsing it, declared or streamed', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(MAX_CERTIFICATE_BYTES) });
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) });
      res.end(big);
    };
    const declared = await run();
    expect(declared.code).toBe(1);
    expect(declared.report).toBeUndefined();
    expect(declared.err).toContain(`the answer exceeds ${MAX_CERTIFICATE_BYTES} bytes`);
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length to trust
      res.write(big.slice(0, 600_000));
      res.end(big.slice(600_000));
    };
    const streamed = await run();
    expect(streamed.code).toBe(1);
    expect(streamed.err).toContain(`the answer exceeds ${MAX_CERTIFICATE_BYTES} bytes`);
  });

  it('says what the service refused, and what is misconfigured, in one line (exit 1)', async () => {
    answer = json(404, { code: 'ERASURE_NOT_FOUND', message: 'No such erasure' });
    const missing = await run();
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(
      `privacy: privacy refused the certificate of erasure ${ERASURE} of subject ${SUBJECT}: 404 ERASURE_NOT_FOUND: No such erasure`,
    );
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"certificateVersion": 1,');
    };
    expect((await run()).err).toContain('is not JSON');
    expect((await run({ METERKEEP_API_KEY: '' })).err).toBe(
      'privacy: METERKEEP_API_KEY (or METERKEEP_API_KEY_FILE) is not set',
    );
    expect((await run({ METERKEEP_PRIVACY_URL: '' })).err).toBe('privacy: METERKEEP_PRIVACY_URL is not set');
    expect((await run({ METERKEEP_PRIVACY_URL: 'ftp://x' })).err).toContain('METERKEEP_PRIVACY_URL');
    expect((await run({ METERKEEP_PRIVACY_URL: 'http://127.0.0.1:1' })).err).toContain(
      'cannot fetch the certificate',
    );
  });
});
