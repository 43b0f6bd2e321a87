import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, TraceFlags, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_KEYS_INTROSPECT, METER_DATA_KEYS_GET, PSK_PROOFS_CHECK } from '@meterkeep/contracts';
import { DomainError } from '../errors/domain-error';
import { InternalHttpClient, type InternalHttpClientOptions } from './internal-http-client';
import { testCa, testIdentity } from '../testing/identities';
import { mutualTlsCredential } from './service-credential';
import { UpstreamUnavailableError } from './upstream-unavailable.error';

const ca = testCa();
const enrollmentIdentity = testIdentity(ca, 'enrollment');
const caller = testIdentity(ca, 'bootstrap');
const proofRequest = {
  pskIdentity: 'psk-1',
  message: Buffer.from('message').toString('base64'),
  proof: Buffer.alloc(32, 1).toString('base64'),
};

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server on a free port whose answer each test sets. */
let server: Server;
let baseUrl: string;
let handler: (request: IncomingMessage, response: ServerResponse) => void;
const seen: Seen[] = [];

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
  handler = (_, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
};

const warnings: unknown[] = [];
const client = (options: Partial<InternalHttpClientOptions> = {}) =>
  new InternalHttpClient({
    service: 'enrollment',
    baseUrl,
    credential: mutualTlsCredential(caller),
    logger: { warn: (...args: unknown[]) => void warnings.push(args) },
    ...options,
  });

const failureOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamUnavailableError);
  return error as UpstreamUnavailableError;
};

beforeAll(async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  server = createServer(
    {
      key: enrollmentIdentity.keyPem,
      cert: enrollmentIdentity.certificatePem,
      ca: ca.certificate.pem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        seen.push({ method: request.method, url: request.url, headers: request.headers, body });
        handler(request, response);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  propagation.disable();
  context.disable();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  seen.length = 0;
  warnings.length = 0;
});

describe('InternalHttpClient', () => {
  it("sends the contract's method, path and body over mutual TLS, and gives the parsed answer", async () => {
    json(200, { valid: true, tenantId: 'acme', endpointName: 'MTR-1', extra: 'ignored' });
    await expect(client().call(PSK_PROOFS_CHECK, { body: proofRequest })).resolves.toEqual({
      valid: true,
      tenantId: 'acme',
      endpointName: 'MTR-1',
    });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/internal/v1/psk-proofs' });
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]!.body)).toEqual(proofRequest);
  });

  it('fills and encodes path parameters', async () => {
    const key = Buffer.alloc(32).toString('base64');
    json(200, { tenantId: 'acme', meterId: 'M/1', occupancies: [], meterKey: { keyId: 'k', key } });
    await client().call(METER_DATA_KEYS_GET, { params: { tenantId: 'acme', meterId: 'M:1' } });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/internal/v1/tenants/acme/meters/M%3A1/data-keys' });
  });

  it('carries the active trace context as a W3C traceparent', async () => {
    json(200, { valid: false });
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    });
    await context.with(parent, () => client().call(PSK_PROOFS_CHECK, { body: proofRequest }));
    expect(seen[0]!.headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  });

  it('maps a timeout to a retryable UpstreamUnavailableError', async () => {
    handler = () => undefined; // never answers
    const error = await failureOf(client({ timeoutMs: 100 }).call(PSK_PROOFS_CHECK, { body: proofRequest }));
    expect(error).toMatchObject({ kind: 'unavailable', failure: 'timeout', permanent: false });
    expect(error).toBeInstanceOf(DomainError);
  });

  it('maps a refused connection to the same error', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failureOf(
      client({ baseUrl: `https://127.0.0.1:${port}` }).call(PSK_PROOFS_CHECK, { body: proofRequest }),
    );
    expect(error).toMatchObject({ kind: 'unavailable', failure: 'unreachable' });
  });

  it("maps a 503 to it, with the caller's code and the answer's Retry-After", async () => {
    json(503, { code: 'UNAVAILABLE', message: 'busy' }, { 'retry-after': '7' });
    const error = await failureOf(
      client({
        unavailable: () =>
          new DomainError('unavailable', 'KEY_VAULT_UNAVAILABLE', 'retry later', undefined, 5),
      }).call(PSK_PROOFS_CHECK, { body: proofRequest }),
    );
    expect(error).toMatchObject({
      kind: 'unavailable',
      code: 'KEY_VAULT_UNAVAILABLE',
      failure: 'status',
      status: 503,
      retryAfterSeconds: 7,
    });
  });

  it('maps a status the caller does not accept to it, even one the route declares', async () => {
    json(401, { code: 'UNAUTHENTICATED', message: 'no' });
    const error = await failureOf(client().call(PSK_PROOFS_CHECK, { body: proofRequest }));
    expect(error).toMatchObject({ failure: 'status', status: 401, code: 'ENROLLMENT_UNAVAILABLE' });
    expect(error.retryAfterSeconds).toBe(5);
  });

  it.each([
    ['a wrong field type', JSON.stringify({ valid: 'yes' })],
    ['no JSON', 'not json'],
    ['an empty body', ''],
  ])('maps an answer with %s to it', async (_, text) => {
    handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(text);
    };
    const error = await failureOf(client().call(PSK_PROOFS_CHECK, { body: proofRequest }));
    expect(error).toMatchObject({ failure: 'invalid-answer', status: 200 });
  });

  it('maps an answer larger than the limit to it', async () => {
    json(200, { valid: true, tenantId: 'x'.repeat(5_000) });
    const error = await failureOf(
      client({ maxAnswerBytes: 1_000 }).call(PSK_PROOFS_CHECK, { body: proofRequest }),
    );
    expect(error).toMatchObject({ failure: 'invalid-answer' });
  });

  it('gives an accepted non-success status with its body parsed by the route', async () => {
    json(401, { code: 'UNAUTHENTICATED', message: 'Unknown or revoked API key' });
    const answer = await client().exchange(API_KEYS_INTROSPECT, { body: { apiKey: 'mk_x' } }, [400, 401]);
    expect(answer).toEqual({
      status: 401,
      body: { code: 'UNAUTHENTICATED', message: 'Unknown or revoked API key' },
    });
  });

  it('never sends a request that breaks the contract', async () => {
    await expect(
      client().call(PSK_PROOFS_CHECK, { body: { ...proofRequest, proof: 'short' } }),
    ).rejects.toThrow(/breaks its contract: proof/);
    expect(seen).toHaveLength(0);
  });

  it('refuses a server whose platform certificate names another service, or comes from another CA', async () => {
    json(200, { valid: true });
    const other = await failureOf(
      client({ service: 'privacy' }).call(PSK_PROOFS_CHECK, { body: proofRequest }),
    );
    expect(other).toMatchObject({ failure: 'unreachable' });
    const foreign = await failureOf(
      client({
        credential: mutualTlsCredential({ ...caller, platformCaPem: testCa().certificate.pem }),
      }).call(PSK_PROOFS_CHECK, { body: proofRequest }),
    );
    expect(foreign).toMatchObject({ failure: 'unreachable' });
    expect(seen).toHaveLength(0);
  });

  it('refuses a plain http:// address: internal routes are served over mutual TLS only', () => {
    expect(() => client({ baseUrl: 'http://127.0.0.1:1' })).toThrow(/must be https/);
  });

  it('logs the origin and route, never the key or the path', async () => {
    json(500, { code: 'INTERNAL', message: 'boom' });
    await failureOf(
      client({ baseUrl: `${baseUrl}/prefix?x=1` }).call(PSK_PROOFS_CHECK, { body: proofRequest }),
    );
    const logged = JSON.stringify(warnings);
    expect(logged).toContain(baseUrl);
    expect(logged).toContain('enrollment.psk-proofs.check');
    expect(logged).not.toContain(caller.keyPem.split('\n')[1]);
    expect(logged).not.toContain('/internal/v1');
  });
});
