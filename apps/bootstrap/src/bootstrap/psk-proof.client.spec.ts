import { type Server, createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PSK_PROOFS_CHECK } from '@meterkeep/contracts';
import { createLogger } from '@meterkeep/observability';
import { mutualTlsCredential } from '@meterkeep/service-runtime';
import { testCa, testIdentity, testListenerOptions } from '@meterkeep/service-runtime/testing';
import type { BootstrapConfig } from '../config';
import { PskProofClient } from './psk-proof.client';

const ca = testCa();
const TOKEN = 'bootstrap';
const callerCredential = mutualTlsCredential(testIdentity(ca, 'bootstrap'));
const request = {
  pskIdentity: 'psk-1',
  message: Buffer.from('nonce'),
  proof: Buffer.alloc(32, 5).toString('base64'),
};
let answer: { status: number; body: unknown };
const seen: { url?: string; token?: string | string[]; body: string }[] = [];
let server: Server;
let client: PskProofClient;

/** Enrollment's PSK-proof route, played by a real HTTP server whose answer each test sets. */
beforeAll(async () => {
  server = createServer(testListenerOptions(testIdentity(ca, 'enrollment')), (incoming, response) => {
    let body = '';
    incoming.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    incoming.on('end', () => {
      seen.push({
        url: incoming.url,
        token: (incoming.socket as TLSSocket).getPeerCertificate().subject.CN,
        body,
      });
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = {
    ENROLLMENT_INTERNAL_URL: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
  } as BootstrapConfig;
  client = new PskProofClient(
    config,
    callerCredential,
    createLogger({ service: 'bootstrap-test', level: 'silent' }),
  );
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('PskProofClient', () => {
  it('sends the message as base64 over mutual TLS, and gives the verdict', async () => {
    answer = { status: 200, body: { valid: true, tenantId: 'acme', endpointName: 'MTR-1' } };
    await expect(client.check(request)).resolves.toEqual({
      valid: true,
      tenantId: 'acme',
      endpointName: 'MTR-1',
    });
    expect(seen.at(-1)).toEqual({
      url: PSK_PROOFS_CHECK.path,
      token: TOKEN,
      body: JSON.stringify({ pskIdentity: 'psk-1', message: 'bm9uY2U=', proof: request.proof }),
    });
  });

  it.each([
    ['a 503', 503, { code: 'UNAVAILABLE', message: 'draining' }],
    ['a 403 (we are not an allowed caller)', 403, { code: 'CALLER_NOT_ALLOWED', message: 'no' }],
    ['an answer that breaks the contract', 200, { valid: 'yes' }],
  ])('refuses the meter with the retryable UNAVAILABLE on %s', async (_, status, body) => {
    answer = { status, body };
    await expect(client.check(request)).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'UNAVAILABLE',
      retryAfterSeconds: 5,
    });
  });
});
