import { createServer, type Server, type Socket } from 'node:net';
import type { ArgumentsHost } from '@nestjs/common';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@meterkeep/observability';
import { HttpExceptionFilter, isDatabasePoolExhausted } from './http-exception.filter';

/** What the filter writes, caught from a stand-in Express response. */
function answer(filter: HttpExceptionFilter, error: unknown) {
  const sent = { status: 0, headers: {} as Record<string, string>, body: undefined as unknown };
  const response = {
    headersSent: false,
    locals: {},
    setHeader: (name: string, value: string) => (sent.headers[name.toLowerCase()] = value),
    status: (status: number) => ((sent.status = status), response),
    json: (body: unknown) => (sent.body = body),
  };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  filter.catch(error, host);
  return sent;
}

describe('HttpExceptionFilter', () => {
  const filter = new HttpExceptionFilter(createLogger({ service: 'filter-test', level: 'silent' }));
  // A server that accepts and never answers: every pooled connection hangs, as under a saturated database.
  let server: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("answers pg-pool's exhausted-pool refusal with 503 DATABASE_BUSY and Retry-After, not 500", async () => {
    const { port } = server.address() as { port: number };
    const pool = new Pool({ host: '127.0.0.1', port, max: 1, connectionTimeoutMillis: 100 });
    // The first takes the only connection (and hangs); the second waits for the pool and is refused.
    const first = pool.connect().catch((error: unknown) => error);
    const refused = await pool.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    await first;
    await pool.end().catch(() => undefined);
    expect(isDatabasePoolExhausted(refused)).toBe(true);

    const sent = answer(filter, refused);
    expect(sent.status).toBe(503);
    expect(sent.headers['retry-after']).toBe('2');
    expect(sent.body).toMatchObject({ code: 'DATABASE_BUSY', status: 503 });
  });

  it('answers any other unexpected error 500 INTERNAL with an error id', () => {
    const sent = answer(filter, new Error('something else'));
    expect(sent.status).toBe(500);
    expect(sent.body).toMatchObject({ code: 'INTERNAL', errorId: expect.any(String) });
    expect(isDatabasePoolExhausted(new Error('connection refused'))).toBe(false);
  });
});
