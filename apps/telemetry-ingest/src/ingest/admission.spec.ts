import { type Server, createServer } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sender } from '../auth/authorize-sender';
import { AdmissionGate, type AdmissionLimits, type SenderAdmission, batchBodyReader } from './admission';
import { IngestErrors } from './ingest.errors';

const KIB = 1_024;
const sender = (endpointName: string): Sender => ({
  tenantId: 't-1',
  endpointName,
  serial: '01',
  notAfter: Date.now() + 60_000,
});

/** Admits the sender a request names in `x-sender` (the real one reads the client certificate). */
const admission = {
  admit: (socket: Socket & { sender?: string }) => {
    if (!socket.sender) throw IngestErrors.clientCertificateRequired();
    return sender(socket.sender);
  },
} as unknown as SenderAdmission;

const gateOf = (limits: Partial<AdmissionLimits>) =>
  new AdmissionGate({
    maxBytes: 4_096 * KIB,
    maxReadings: 1_000,
    maxBytesPerSender: 4_096 * KIB,
    maxBytesPerSource: 4_096 * KIB,
    ...limits,
  });

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function start(gate: AdmissionGate, bodyTimeoutMs = 5_000): Promise<number> {
  const app = express();
  app.use((request, _response, next) => {
    (request.socket as Socket & { sender?: string }).sender = request.headers['x-sender'] as
      string | undefined;
    next();
  });
  app.use(batchBodyReader(gate, admission, bodyTimeoutMs));
  app.post('/tl/v1/batches', (_request, response) => void response.json({ ok: true }));
  server = createServer(app);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends the head of a batch declaring `length` bytes and `sent` of them; resolves with the answer once it comes. */
function partialBatch(port: number, length: number, sent: string, who?: string) {
  const socket = connect(port, '127.0.0.1');
  socket.write(
    `POST /tl/v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n` +
      `${who ? `x-sender: ${who}\r\n` : ''}\r\n${sent}`,
  );
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  const answer = () =>
    new Promise<string>((resolve) => {
      const check = setInterval(() => {
        if (received.includes('\r\n\r\n{')) {
          clearInterval(check);
          resolve(received);
        }
      }, 10);
    });
  return { socket, answer };
}

describe('batchBodyReader', () => {
  it('reserves nothing for a sender it cannot admit: a full budget of anonymous bodies leaves room for a meter', async () => {
    const gate = gateOf({ maxBytes: 1_024 * KIB });
    const port = await start(gate);
    const anonymous = Array.from({ length: 4 }, () => partialBatch(port, 512 * KIB, '{'));
    for (const a of anonymous)
      expect(await a.answer()).toMatch(/^HTTP\/1.1 401[\s\S]*CLIENT_CERTIFICATE_REQUIRED/);
    const meter = partialBatch(port, 2, '{}', 'MTR-1');
    expect(await meter.answer()).toMatch(/^HTTP\/1.1 200/);
    for (const c of [...anonymous, meter]) c.socket.destroy();
  });

  it('bounds one sender’s bytes in progress (503 METER_BUSY) without stopping another', async () => {
    const gate = gateOf({ maxBytesPerSender: 600 * KIB });
    const port = await start(gate);
    const slow = partialBatch(port, 512 * KIB, '{', 'MTR-1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = partialBatch(port, 512 * KIB, '{', 'MTR-1');
    expect(await second.answer()).toMatch(/^HTTP\/1.1 503[\s\S]*Retry-After: 1[\s\S]*METER_BUSY/);
    const other = partialBatch(port, 2, '{}', 'MTR-2');
    expect(await other.answer()).toMatch(/^HTTP\/1.1 200/);
    for (const c of [slow, second, other]) c.socket.destroy();
  });

  it('answers a body that does not arrive in time with 503, and frees its reservation', async () => {
    const gate = gateOf({ maxBytesPerSender: 512 * KIB });
    const port = await start(gate, 300);
    const slow = partialBatch(port, 512 * KIB, '{', 'MTR-1');
    expect(await slow.answer()).toMatch(
      /^HTTP\/1.1 503[\s\S]*Connection: close[\s\S]*INGEST_SATURATED.*did not arrive/,
    );
    const again = partialBatch(port, 2, '{}', 'MTR-1');
    expect(await again.answer()).toMatch(/^HTTP\/1.1 200/);
    for (const c of [slow, again]) c.socket.destroy();
  });
});
