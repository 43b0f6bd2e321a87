import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_MAX_BODY_BYTES } from '@meterkeep/contracts';
import { createCsr, generateKeyPair, parseCertificates } from '@meterkeep/pki';
import {
  type ActiveFleet,
  type Platform,
  activeFleet,
  deviceClient,
  startPlatform,
} from '@meterkeep/testing';
import { dayOfReadings, utcDay } from './telemetry-kit';

// The device edge as an attacker meets it: connections that never authenticate, and forged chains.

/** The certificate with one bit of its signature changed: signed, to any verifier, by another key. */
function spoilt(pem: string): string {
  const der = Buffer.from(parseCertificates(pem)[0]!.der);
  der[der.length - 1]! ^= 0x01;
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
}

/** An anonymous TLS connection that declares a full batch and sends one byte of it; what it got back. */
function slowAnonymousBatch(uri: string, caPem: string) {
  const url = new URL(uri);
  return new Promise<{ socket: TLSSocket; answer: Promise<string> }>((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: Number(url.port), servername: 'localhost', ca: caPem },
      () => {
        socket.write(
          'POST /tl/v1/batches HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${TELEMETRY_MAX_BODY_BYTES}\r\n\r\n{`,
        );
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        const answer = new Promise<string>((done) => {
          socket.on('close', () => done(Buffer.concat(chunks).toString()));
          socket.on('error', () => undefined);
        });
        resolve({ socket, answer });
      },
    );
    socket.once('error', reject);
  });
}

/**
 * One request over a new mutual-TLS connection, sent a moment after the handshake (as curl or a
 * meter's stack may), with the status and body of the answer; rejects when the connection is reset.
 */
function postAfterHandshake(
  uri: string,
  caPem: string,
  request: { keyPem: string; chainPem: string; path: string; body: unknown },
): Promise<{ status: number; body: unknown }> {
  const url = new URL(uri);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port: Number(url.port),
      servername: 'localhost',
      ca: caPem,
      key: request.keyPem,
      cert: request.chainPem,
    });
    const chunks: Buffer[] = [];
    socket.once('secureConnect', () => {
      setTimeout(() => {
        const body = JSON.stringify(request.body);
        socket.write(
          `POST ${request.path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }, 100);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 80))}`));
      resolve({
        status: Number(status[1]),
        body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as unknown,
      });
    });
  });
}

describe('the device edge, end to end', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-edge-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  let platform: Platform;
  let fleet: ActiveFleet;

  beforeAll(async () => {
    platform = await startPlatform({ logs });
    fleet = await activeFleet(platform, {
      tenantId: `edge-${runId.toLowerCase()}`,
      count: 2,
      prefix: `ED${runId}M`,
    });
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('answers a real meter while 256 connections without a client certificate each declare 512 KiB and send one byte', async () => {
    const held: Awaited<ReturnType<typeof slowAnonymousBatch>>[] = [];
    try {
      for (let i = 0; i < 256; i += 32)
        held.push(
          ...(await Promise.all(
            Array.from({ length: 32 }, () => slowAnonymousBatch(platform.ingestUri, platform.serverCaPem)),
          )),
        );
      const meter = fleet.batch.endpointNames[0]!;
      const client = deviceClient(platform.ingestUri, platform.serverCaPem, {
        statesDir: fleet.batch.statesDir,
        endpointName: meter,
      });
      const answer = await client.post('/tl/v1/batches', {
        batchId: 'edge-1',
        readings: dayOfReadings(utcDay(1)),
      });
      client.close();
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ meterId: meter, accepted: 48 });
      // Each anonymous one was refused before anything was reserved for it, and its connection closed.
      const answers = await Promise.all(held.map((h) => h.answer));
      expect(
        answers.every((a) => a.startsWith('HTTP/1.1 401') && a.includes('CLIENT_CERTIFICATE_REQUIRED')),
      ).toBe(true);
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });

  it('answers a forged leaf before the real CAs with the documented refusal, not a reset: bootstrap and ingest', async () => {
    const meter = fleet.batch.endpointNames[1]!;
    const state = (file: string) => readFileSync(join(fleet.batch.statesDir, meter, file), 'utf8');
    const factory = (
      JSON.parse(state('factory-bundle.json')) as {
        credential: { privateKeyPem: string; certificatePem: string; chainPem: string[] };
      }
    ).credential;
    const operational = JSON.parse(state('operational.json')) as {
      privateKeyPem: string;
      certificatePem: string;
      chainPem: string[];
    };
    const key = generateKeyPair();
    const csrPem = createCsr({ privateKey: key.privateKey, subject: { commonName: meter } }).pem;

    for (let attempt = 0; attempt < 3; attempt++) {
      const refused = await postAfterHandshake(platform.bootstrapUri, platform.serverCaPem, {
        keyPem: factory.privateKeyPem,
        chainPem: spoilt(factory.certificatePem) + factory.chainPem.join(''),
        path: '/bs/v1/bootstrap',
        body: { csrPem },
      });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'CERTIFICATE_INVALID', message: expect.any(String) });

      const untrusted = await postAfterHandshake(platform.ingestUri, platform.serverCaPem, {
        keyPem: operational.privateKeyPem,
        chainPem: spoilt(operational.certificatePem) + operational.chainPem.join(''),
        path: '/tl/v1/batches',
        body: { batchId: `forged-${attempt}`, readings: dayOfReadings(utcDay(1), 3, 1) },
      });
      expect(untrusted.status).toBe(401);
      expect(untrusted.body).toMatchObject({ code: 'CERTIFICATE_UNTRUSTED', message: expect.any(String) });
    }
  });
});
