import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_TOKEN_HEADER, PSK_PROOFS_CHECK } from '@meterkeep/contracts';
import { createLogger } from '@meterkeep/observability';
import type { BootstrapConfig } from '../config';
import { PskProofClient } from './psk-proof.client';

const TOKEN = 'b'.repeat(32);
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
  server = createServer((incoming, response) => {
    let body = '';
    incoming.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    incoming.on('end', () => {
      seen.push({ url: incoming.url, token: incoming.headers[INTERNAL_TOKEN_HEADER], body });
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const config = {
    ENROLLMENT_INTERNAL_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    INTERNAL_API_TOKEN: TOKEN,
  } as BootstrapConfig;
  client = new PskProofClient(config, createLogger({ service: 'bootstrap-test', level: 'silent' }));
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('PskProofClient', () => {
  it('sends the message as base64 with the internal token, and gives the verdict', async () => {
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
    ['a 401 (our token refused)', 401, { code: 'UNAUTHENTICATED', message: 'no' }],
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
