import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryBatch } from '@meterkeep/contracts';
import {
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
  type CertificateAuthority,
} from '@meterkeep/pki';
import type { DeviceTlsCredential } from '../device/device-https';
import {
  TelemetryClient,
  type TelemetryClientOptions,
  TelemetryError,
  TelemetryStats,
} from './telemetry-client';

// A stand-in telemetry ingest over real mutual TLS: what is under test is the meter's side.
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const validity = { notBefore: now, notAfter: new Date(now.getTime() + 365 * 864e5) };
let serverCa: CertificateAuthority;
let operationalCa: CertificateAuthority;
let strangerCa: CertificateAuthority;
let meter: DeviceTlsCredential;
let server: Server | undefined;
let client: TelemetryClient | undefined;

beforeAll(() => {
  serverCa = createRootCa({ subject: { commonName: 'Platform Server CA' }, validity });
  operationalCa = createRootCa({ subject: { commonName: 'Operational Root' }, validity });
  strangerCa = createRootCa({ subject: { commonName: 'Someone Else' }, validity });
  const keys = generateKeyPair();
  const certificate = issueCertificate({
    issuer: operationalCa,
    subjectPublicKey: keys.publicKey,
    subject: { commonName: 'MTR-1' },
    profile: 'operational-device',
    ...validity,
  });
  meter = {
    keyPem: exportPrivateKey(keys.privateKey) as string,
    certChainPem: certificate.pem,
    trustAnchorPem: [serverCa.certificate.pem],
  };
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

interface Seen {
  batchIds: string[];
  peers: string[];
  connections: number;
}
type Reply = [number, unknown, number?] | 'drop' | 'hang';

async function ingest(handle: (body: TelemetryBatch, call: number) => Reply): Promise<[string, Seen]> {
  const seen: Seen = { batchIds: [], peers: [], connections: 0 };
  server = createServer(
    {
      ...serverCertificate(serverCa),
      requestCert: true,
      rejectUnauthorized: true,
      ca: operationalCa.certificate.pem,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as TelemetryBatch;
        seen.batchIds.push(body.batchId);
        seen.peers.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN));
        const reply =
          req.url === '/tl/v1/batches' ? handle(body, seen.batchIds.length) : ([404, {}] as Reply);
        if (reply === 'drop') return req.socket.destroy();
        if (reply === 'hang') return;
        const [status, answer, retryAfter] = reply;
        if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    },
  );
  server.on('secureConnection', () => (seen.connections += 1));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return [`https://localhost:${(server.address() as AddressInfo).port}`, seen];
}

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

const batch = (batchId = 'MTR-1:2026-01-01:0:1'): TelemetryBatch => ({
  batchId,
  readings: [
    {
      obis: '1-0:1.8.0*255',
      intervalStart: '2026-01-01T00:00:00Z',
      intervalMinutes: 0,
      value: 1_000,
      scaler: 0,
      unit: 'Wh',
    },
  ],
  events: [],
});
const ok = (body: TelemetryBatch, replayed = false): Reply => [
  200,
  { batchId: body.batchId, meterId: 'MTR-1', accepted: 1, duplicates: 0, rejected: [], replayed },
];
const refusal = (code: string): Record<string, string> => ({ code, message: code.toLowerCase() });

function meterClient(url: string, options: Partial<TelemetryClientOptions> = {}) {
  const waits: number[] = [];
  client = new TelemetryClient({
    uri: url,
    credential: meter,
    sleep: (ms) => (waits.push(ms), Promise.resolve()),
    random: () => 0.5,
    ...options,
  });
  return { client, waits };
}

describe('a meter sending telemetry', () => {
  it('presents its operational certificate and keeps one connection for its batches', async () => {
    const [url, seen] = await ingest((body) => ok(body));
    const { client } = meterClient(url);
    const sent = await client.send(batch('b-1'));
    await client.send(batch('b-2'));
    expect(sent).toMatchObject({ attempts: 1, answer: { batchId: 'b-1', accepted: 1, replayed: false } });
    expect(seen).toEqual({ batchIds: ['b-1', 'b-2'], peers: ['MTR-1', 'MTR-1'], connections: 1 });
    expect(client.stats).toMatchObject({ batches: 2, accepted: 2, duplicates: 0, rejected: 0, retries: 0 });
    expect(client.stats.latency.count).toBe(2);
  });

  it('waits as long as Retry-After says on 503, then sends the batch again', async () => {
    const [url, seen] = await ingest((body, call) =>
      call === 1 ? [503, refusal('METER_NOT_YET_KNOWN'), 2] : ok(body),
    );
    const { client, waits } = meterClient(url);
    await client.send(batch());
    expect(seen.batchIds).toEqual([batch().batchId, batch().batchId]);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(2_000);
    expect(waits[0]).toBeLessThanOrEqual(2_400);
    expect(client.stats.retries).toBe(1);
  });

  it('backs off longer on each 503 even when Retry-After stays the same', async () => {
    const [url] = await ingest((body, call) => (call < 8 ? [503, refusal('NOT_YET_KNOWN'), 1] : ok(body)));
    const { client, waits } = meterClient(url, { deadlineMs: 3_600_000 });
    await client.send(batch());
    expect(waits).toHaveLength(7);
    expect(waits[0]).toBe(1_100);
    expect(waits.at(-1)).toBe(250 * 2 ** 6 * 0.75);
  });

  it('cuts a long Retry-After to its cap', async () => {
    const [url] = await ingest((body, call) => (call === 1 ? [503, refusal('SATURATED'), 600] : ok(body)));
    const { client, waits } = meterClient(url, { maxRetryAfterMs: 5_000 });
    await client.send(batch());
    expect(waits[0]).toBeLessThanOrEqual(6_000);
  });

  it('sends the same batch id again over a new connection when the connection drops before the answer', async () => {
    const [url, seen] = await ingest((body, call) => (call === 1 ? 'drop' : ok(body, true)));
    const { client } = meterClient(url);
    const sent = await client.send(batch('MTR-1:2026-01-01:0:49'));
    expect(seen.batchIds).toEqual(['MTR-1:2026-01-01:0:49', 'MTR-1:2026-01-01:0:49']);
    expect(seen.connections).toBe(2);
    expect(sent).toMatchObject({ attempts: 2, answer: { replayed: true } });
    expect(client.stats).toMatchObject({ batches: 1, replayed: 1, retries: 1 });
  });

  it('sends again when no answer comes in time', async () => {
    const [url, seen] = await ingest((body, call) => (call === 1 ? 'hang' : ok(body)));
    const { client } = meterClient(url, { timeoutMs: 200 });
    await client.send(batch());
    expect(seen.batchIds).toHaveLength(2);
  });

  it('backs off exponentially on 5xx', async () => {
    const [url] = await ingest((body, call) =>
      call < 4 ? [call === 2 ? 502 : 500, refusal('INTERNAL')] : ok(body),
    );
    const { client, waits } = meterClient(url);
    await client.send(batch());
    expect(waits).toEqual([187.5, 375, 750]);
  });

  it('does not send a refused batch again', async () => {
    const [url, seen] = await ingest(() => [400, refusal('BATCH_INVALID')]);
    const { client, waits } = meterClient(url);
    const error = await client.send(batch()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryError);
    expect(error).toMatchObject({
      code: 'BATCH_REFUSED',
      details: { status: 400, serverCode: 'BATCH_INVALID' },
    });
    expect(seen.batchIds).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('reports a refused credential (401/403) so the meter can bootstrap again', async () => {
    const [url, seen] = await ingest(() => [403, refusal('CERTIFICATE_REVOKED')]);
    const { client } = meterClient(url);
    await expect(client.send(batch())).rejects.toMatchObject({
      code: 'CREDENTIAL_REFUSED',
      details: { status: 403, serverCode: 'CERTIFICATE_REVOKED' },
    });
    expect(seen.batchIds).toHaveLength(1);
  });

  it('gives up when the deadline passes', async () => {
    const [url, seen] = await ingest(() => [503, refusal('SATURATED'), 1]);
    const { client } = meterClient(url, { deadlineMs: 0 });
    await expect(client.send(batch())).rejects.toMatchObject({ code: 'GAVE_UP', details: { status: 503 } });
    expect(seen.batchIds).toHaveLength(1);
  });

  it('refuses a server whose certificate does not chain to its trust anchors', async () => {
    const [url, seen] = await ingest((body) => ok(body));
    const { client } = meterClient(url, {
      credential: { ...meter, trustAnchorPem: strangerCa.certificate.pem },
    });
    await expect(client.send(batch())).rejects.toMatchObject({ code: 'SERVER_UNTRUSTED' });
    expect(seen.batchIds).toHaveLength(0);
  });

  it('refuses an answer that is not one for its batch', async () => {
    const [url] = await ingest((body) => [200, { ...(ok(body) as [number, object])[1], batchId: 'other' }]);
    const { client } = meterClient(url);
    await expect(client.send(batch())).rejects.toMatchObject({ code: 'BAD_ANSWER' });
  });

  it('adds up a fleet in one shared count', async () => {
    const [url] = await ingest((body) => [
      200,
      {
        batchId: body.batchId,
        meterId: 'MTR-1',
        accepted: 0,
        duplicates: 1,
        rejected: [{ section: 'readings', index: 0, code: 'TIME_TOO_OLD', reason: 'old' }],
        replayed: false,
      },
    ]);
    const stats = new TelemetryStats();
    await meterClient(url, { stats }).client.send(batch('a'));
    client!.close();
    await meterClient(url, { stats }).client.send(batch('b'));
    expect(stats).toMatchObject({ batches: 2, duplicates: 2, rejected: 2 });
    expect(stats.rejections.map((r) => r.batchId)).toEqual(['a', 'b']);
    expect(stats.latency.percentile(50)).toBeGreaterThan(0);
  });
});
