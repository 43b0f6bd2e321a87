import { type Server, createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@meterkeep/observability';
import { mutualTlsCredential } from '@meterkeep/service-runtime';
import { testCa, testIdentity, testListenerOptions } from '@meterkeep/service-runtime/testing';
import type { TelemetryIngestConfig } from '../config';
import { PrivacyKeysClient } from './privacy-keys.client';

const ca = testCa();
const TOKEN = 'telemetry-ingest';
const callerCredential = mutualTlsCredential(testIdentity(ca, 'telemetry-ingest'));
const key = (fill: number) => Buffer.alloc(32, fill);
let answer: { status: number; body: unknown };
const seen: { url?: string; token?: string | string[] }[] = [];
let server: Server;
let client: PrivacyKeysClient;

const meterKeys = {
  tenantId: 'acme',
  meterId: 'MTR-1',
  occupancies: [
    {
      occupancyId: 'occ-1',
      keyId: 'dk-1',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-02-01T00:00:00.000Z',
      destroyed: true,
    },
    {
      occupancyId: 'occ-2',
      keyId: 'dk-2',
      from: '2026-02-01T00:00:00.000Z',
      to: null,
      key: key(2).toString('base64'),
      destroyed: false,
    },
  ],
  meterKey: { keyId: 'dk-0', key: key(9).toString('base64') },
};

/** Privacy's meter data-key route, played by a real HTTP server whose answer each test sets. */
beforeAll(async () => {
  server = createServer(testListenerOptions(testIdentity(ca, 'privacy')), (request, response) => {
    seen.push({ url: request.url, token: (request.socket as TLSSocket).getPeerCertificate().subject.CN });
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = {
    PRIVACY_INTERNAL_URL: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
  } as TelemetryIngestConfig;
  client = new PrivacyKeysClient(
    config,
    callerCredential,
    createLogger({ service: 'ingest-test', level: 'silent' }),
  );
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('PrivacyKeysClient', () => {
  it("reads a meter's keys as Buffers and times, without a destroyed occupancy's key", async () => {
    answer = { status: 200, body: meterKeys };
    await expect(client.meterKeys('acme', 'MTR:1')).resolves.toEqual({
      meterKey: { keyId: 'dk-0', key: key(9) },
      occupancies: [
        {
          occupancyId: 'occ-1',
          keyId: 'dk-1',
          from: Date.parse('2026-01-01T00:00:00Z'),
          to: Date.parse('2026-02-01T00:00:00Z'),
          key: undefined,
        },
        {
          occupancyId: 'occ-2',
          keyId: 'dk-2',
          from: Date.parse('2026-02-01T00:00:00Z'),
          to: undefined,
          key: key(2),
        },
      ],
    });
    expect(seen.at(-1)).toEqual({ url: '/internal/v1/tenants/acme/meters/MTR%3A1/data-keys', token: TOKEN });
  });

  it.each([
    ['a 503', 503, { code: 'UNAVAILABLE', message: 'draining' }],
    ['a 404', 404, { code: 'NOT_FOUND', message: 'no' }],
    ['a key of the wrong length', 200, { ...meterKeys, meterKey: { keyId: 'dk-0', key: 'AAAA' } }],
  ])('refuses the batch with the retryable KEY_VAULT_UNAVAILABLE on %s', async (_, status, body) => {
    answer = { status, body };
    await expect(client.meterKeys('acme', 'MTR-1')).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'KEY_VAULT_UNAVAILABLE',
      retryAfterSeconds: 5,
    });
  });
});
