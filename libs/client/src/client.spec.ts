import { describe, expect, it } from 'vitest';
import { MeterkeepApiError, MeterkeepTransportError, enrollmentClient } from './index';

const KEY = 'mk_abcdefghijkl_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
const SECRET = KEY.slice(16);

/** A fake server for the client's own logic: answers one canned response and records the request. */
function server(answer: () => Response) {
  const seen: Request[] = [];
  const fetch = ((input: Request) => {
    seen.push(input);
    return Promise.resolve(answer());
  }) as typeof globalThis.fetch;
  return { seen, fetch };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

async function refusal(promise: Promise<unknown>): Promise<MeterkeepApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MeterkeepApiError);
  return error as MeterkeepApiError;
}

describe('the typed REST client', () => {
  it('sends the API key as a bearer token to the typed route and returns the typed answer', async () => {
    const { seen, fetch } = server(() => json(200, { items: [], nextCursor: null }));
    const client = enrollmentClient({ baseUrl: 'http://enrollment.test/', apiKey: KEY, fetch });
    const page = await client.ok(
      client.api.GET('/v1/devices', { params: { query: { state: 'ACTIVE', limit: 5 } } }),
    );
    expect(page.items).toEqual([]);
    expect(seen[0]!.url).toBe('http://enrollment.test/v1/devices?state=ACTIVE&limit=5');
    expect(seen[0]!.headers.get('authorization')).toBe(`Bearer ${KEY}`);
  });

  it("carries the server's stable code and status, never the key, even when the server echoes it", async () => {
    const { fetch } = server(() =>
      json(403, { code: 'FORBIDDEN', message: `role auditor may not do this (${KEY})` }),
    );
    const client = enrollmentClient({ baseUrl: 'http://enrollment.test', apiKey: KEY, fetch });
    const error = await refusal(client.ok(client.api.POST('/v1/api-keys', { body: { role: 'operator' } })));
    expect(error).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(error.message).toMatch(/^403 FORBIDDEN: role auditor may not do this/);
    expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toContain(SECRET);
  });

  it('reads RFC 9457 problem details beside the code, and Retry-After', async () => {
    const problem = {
      type: 'https://meterkeep.dev/problems/rate-limited',
      title: 'Too many requests',
      status: 429,
      detail: 'Slow down',
      instance: '/v1/devices',
      code: 'RATE_LIMITED',
    };
    const { fetch } = server(() =>
      json(429, problem, { 'content-type': 'application/problem+json', 'retry-after': '7' }),
    );
    const client = enrollmentClient({ baseUrl: 'http://enrollment.test', apiKey: KEY, fetch });
    const error = await refusal(client.ok(client.api.GET('/v1/devices')));
    expect(error).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      retryAfterSeconds: 7,
      problem: { type: problem.type, title: problem.title, detail: 'Slow down', instance: '/v1/devices' },
    });
    expect(error.message).toBe('429 RATE_LIMITED: Slow down');
  });

  it('names an answer without a code by its status, and bounds what it repeats of the body', async () => {
    const { fetch } = server(() => new Response('x'.repeat(10_000), { status: 502 }));
    const client = enrollmentClient({ baseUrl: 'http://enrollment.test', apiKey: KEY, fetch });
    const error = await refusal(client.ok(client.api.GET('/v1/api-keys')));
    expect(error.code).toBe('HTTP_502');
    expect(error.message.length).toBeLessThan(600);
  });

  it('refuses an answer larger than its cap', async () => {
    const { fetch } = server(() => json(200, { items: ['y'.repeat(5_000)] }));
    const client = enrollmentClient({
      baseUrl: 'http://enrollment.test',
      apiKey: KEY,
      fetch,
      maxResponseBytes: 1_000,
    });
    await expect(client.ok(client.api.GET('/v1/api-keys'))).rejects.toThrow(/exceeds 1000 bytes/);
  });

  it('reports an unreachable service as a transport error naming the route, not the key', async () => {
    const fetch = (() =>
      Promise.reject(
        new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
      )) as typeof globalThis.fetch;
    const client = enrollmentClient({ baseUrl: 'http://127.0.0.1:9', apiKey: KEY, fetch });
    const error = await client.ok(client.api.GET('/v1/api-keys')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeterkeepTransportError);
    expect((error as Error).message).toBe('GET http://127.0.0.1:9/v1/api-keys: ECONNREFUSED');
    expect((error as Error).message).not.toContain(SECRET);
  });

  it('refuses a base URL that carries credentials, without repeating it', () => {
    expect(() =>
      enrollmentClient({ baseUrl: `https://admin:${SECRET}@enrollment.test`, apiKey: KEY }),
    ).toThrow(/^The base URL must not carry credentials$/);
  });
});
