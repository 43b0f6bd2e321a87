import { type Server, createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEYS_INTROSPECT } from '@meterkeep/contracts';
import { createLogger } from '@meterkeep/observability';
import { mutualTlsCredential } from '../internal-http/service-credential';
import { testCa, testIdentity, testListenerOptions } from '../testing';
import { EnrollmentApiKeysClient } from './enrollment-api-keys.client';

const ca = testCa();
const TOKEN = 'privacy';
const callerCredential = mutualTlsCredential(testIdentity(ca, 'privacy'));
let answer: { status: number; body: unknown };
const seen: { url?: string; token?: string | string[]; body: string }[] = [];
let server: Server;
let client: EnrollmentApiKeysClient;

/** Enrollment's introspection route, played by a real HTTP server whose answer each test sets. */
beforeAll(async () => {
  server = createServer(testListenerOptions(testIdentity(ca, 'enrollment')), (request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      seen.push({
        url: request.url,
        token: (request.socket as TLSSocket).getPeerCertificate().subject.CN,
        body,
      });
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new EnrollmentApiKeysClient(
    {
      enrollmentUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credential: callerCredential,
      timeoutMs: 1_000,
    },
    createLogger({ service: 'privacy-test', level: 'silent' }),
  );
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('EnrollmentApiKeysClient', () => {
  it('asks the introspection route over mutual TLS and gives the caller', async () => {
    const caller = { tenantId: 'acme', keyId: 'k1', role: 'operator', actor: 'key_k1' };
    answer = { status: 200, body: caller };
    await expect(client.introspect('mk_k1_secret')).resolves.toEqual(caller);
    expect(seen.at(-1)).toEqual({
      url: API_KEYS_INTROSPECT.path,
      token: TOKEN,
      body: JSON.stringify({ apiKey: 'mk_k1_secret' }),
    });
  });

  it.each([
    ['401: unknown or revoked', 401, { code: 'UNAUTHENTICATED', message: 'Unknown or revoked API key' }],
    ['400: not a key', 400, { code: 'INVALID_REQUEST', message: 'Invalid request body' }],
  ])('answers an unknown key (%s) with undefined', async (_, status, body) => {
    answer = { status, body };
    await expect(client.introspect('mk_k2_wrong')).resolves.toBeUndefined();
  });

  it("tells enrollment refusing us as a caller (403) from an unknown key: 503, not the caller's 401", async () => {
    answer = {
      status: 403,
      body: { code: 'CALLER_NOT_ALLOWED', message: 'privacy may not call enrollment.api-keys.introspect' },
    };
    await expect(client.introspect('mk_k1_secret')).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'AUTH_UNAVAILABLE',
    });
  });

  it.each([
    ['a 503', 503, { code: 'UNAVAILABLE', message: 'draining' }],
    ['a 500', 500, { code: 'INTERNAL', message: 'boom' }],
    ['an answer that breaks the contract', 200, { tenantId: 'acme', role: 'root' }],
  ])('maps %s to AUTH_UNAVAILABLE', async (_, status, body) => {
    answer = { status, body };
    await expect(client.introspect('mk_k1_secret')).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'AUTH_UNAVAILABLE',
    });
  });

  it('does not ask about a key no contract allows, as enrollment would refuse it', async () => {
    const before = seen.length;
    await expect(client.introspect('x'.repeat(600))).resolves.toBeUndefined();
    await expect(client.introspect('')).resolves.toBeUndefined();
    expect(seen).toHaveLength(before);
  });
});
