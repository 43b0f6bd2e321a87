import { Writable } from 'node:stream';
import { request } from 'node:https';
import type { ClientRequestArgs, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { type Socket, connect } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Request, Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@meterkeep/observability';
import {
  type CertificateAuthority,
  type KeyPair,
  createIntermediateCa,
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
} from '@meterkeep/pki';
import { listenerOf, listenerRouting } from './listener-routing.middleware';
import { MutualTlsListener, type MutualTlsListenerOptions, type TlsCredentials } from './mutual-tls-listener';
import { peerCertificateChain, sourceAddress } from './peer-chain';
import { encodeProxyV2 } from './proxy-protocol';

const DAY = 86_400_000;
const seconds = (ms: number) => new Date(Math.floor(ms / 1_000) * 1_000);
const validity = { notBefore: seconds(Date.now() - DAY), notAfter: seconds(Date.now() + DAY) };
const pem = (key: KeyPair) => exportPrivateKey(key.privateKey, 'pem') as string;

const serverCa = createRootCa({ subject: { commonName: 'Test Server CA' }, validity, pathLen: 0 });
function serverCredentials(): TlsCredentials {
  const key = generateKeyPair();
  const certificate = issueCertificate({
    issuer: serverCa,
    profile: 'server',
    subject: { commonName: 'localhost' },
    sans: { dns: ['localhost'], ip: ['127.0.0.1'] },
    subjectPublicKey: key.publicKey,
    ...validity,
  });
  return {
    keyPem: pem(key),
    certificatePem: certificate.pem,
    caPem: serverCa.certificate.pem,
    notAfter: certificate.notAfter,
  };
}

// A device: its certificate under a factory CA under a root, sent with the factory CA.
const deviceRoot = createRootCa({ subject: { commonName: 'OEM Root' }, validity, pathLen: 1 });
const factoryCa: CertificateAuthority = createIntermediateCa(deviceRoot, {
  subject: { commonName: 'OEM Factory CA' },
  validity,
  pathLen: 0,
});
const deviceKey = generateKeyPair();
const deviceCertificate = issueCertificate({
  issuer: factoryCa,
  profile: 'factory-device',
  subject: { commonName: 'MTR-1' },
  subjectPublicKey: deviceKey.publicKey,
  ...validity,
});

// The same certificate with its signature spoilt: to OpenSSL, signed by another key than its issuer's.
const forgedDer = Buffer.from(deviceCertificate.der);
forgedDer[forgedDer.length - 1]! ^= 0x01;
const forgedPem = `-----BEGIN CERTIFICATE-----\n${forgedDer.toString('base64')}\n-----END CERTIFICATE-----\n`;

const logger = createLogger({
  service: 'mutual-tls-listener-spec',
  level: 'error',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

interface Seen {
  chain: number;
  source: string;
  listener: string;
}

async function get(
  port: number,
  withClientCertificate: boolean,
  extra: { cert?: string; proxyHeader?: Buffer } = {},
) {
  // As a passthrough balancer: its PROXY header, then the client's TLS bytes on the same connection.
  let raw: Socket | undefined;
  if (extra.proxyHeader) {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(extra.proxyHeader);
    raw = socket;
  }
  return new Promise<{ seen: Seen; headers: IncomingHttpHeaders; serverSerial: string }>(
    (resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          servername: 'localhost',
          ca: serverCa.certificate.pem,
          agent: raw ? undefined : false,
          // As a device keeping its connection between requests.
          headers: { connection: 'keep-alive' },
          ...(withClientCertificate && {
            key: pem(deviceKey),
            cert: extra.cert ?? deviceCertificate.pem + factoryCa.certificate.pem,
          }),
          ...(raw && {
            createConnection: (options: ClientRequestArgs) =>
              tlsConnect({ ...(options as ConnectionOptions), socket: raw }),
          }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          const serverSerial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              seen: JSON.parse(Buffer.concat(chunks).toString()) as Seen,
              headers: res.headers,
              serverSerial: serverSerial.toLowerCase(),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

/** A TLS connection held open without a request. */
function openSocket(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, servername: 'localhost', ca: serverCa.certificate.pem },
      () => resolve(socket),
    );
    socket.on('error', reject);
  });
}

describe('MutualTlsListener', () => {
  let listener: MutualTlsListener | undefined;
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
  });

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const seen: Seen = {
      chain: peerCertificateChain(req.socket).length,
      source: sourceAddress(req.socket),
      listener: listenerOf(req as Request),
    };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  };

  /** Starts a listener (closing the one before) with the test's defaults; its port. */
  const start = async (options: Partial<MutualTlsListenerOptions> = {}) => {
    await listener?.close();
    listener = new MutualTlsListener({
      name: 'test listener',
      port: 0,
      host: '127.0.0.1',
      handler,
      credentials: () => Promise.resolve(serverCredentials()),
      logger,
      ...options,
    });
    await listener.listen();
    return listener.port;
  };

  it('asks for a client certificate and leaves its checking to the application', async () => {
    const port = await start();
    const withCertificate = await get(port, true);
    expect(withCertificate.seen).toEqual({ chain: 2, source: '127.0.0.1', listener: 'device' });
    // Unknown to OpenSSL, and absent: both reach the handler.
    expect((await get(port, false)).seen.chain).toBe(0);
    // Idle device connections stay open longer than a typical 60 s client or load-balancer timeout.
    expect(withCertificate.headers['keep-alive']).toBe('timeout=65');
  });

  it('answers a chain whose leaf signature fails (a forged leaf before the real CAs) instead of resetting it', async () => {
    // Answers later, as an application that looks the certificate up does.
    const port = await start({ handler: (req, res) => void setTimeout(() => handler(req, res), 100) });
    const forgedChain = forgedPem + factoryCa.certificate.pem + deviceRoot.certificate.pem;
    for (let attempt = 0; attempt < 3; attempt++)
      expect((await get(port, true, { cert: forgedChain })).seen.chain).toBe(3);
  });

  it('takes the client address from a trusted balancer’s PROXY v2 header, and only from a trusted one', async () => {
    const behind = (trustedProxies: string[]) =>
      start({ edge: { proxyProtocol: { trustedProxies, headerTimeoutMs: 500 } } });
    const proxyHeader = encodeProxyV2(
      { address: '203.0.113.7', port: 50_123 },
      { address: '10.0.0.1', port: 443 },
    );
    let port = await behind(['127.0.0.1']);
    const proxied = await get(port, true, { proxyHeader });
    expect(proxied.seen).toEqual({ chain: 2, source: '203.0.113.7', listener: 'device' });
    // From a trusted balancer, a connection without a well-formed header is closed before TLS.
    await expect(get(port, true)).rejects.toThrow();
    const malformed = Buffer.from(proxyHeader);
    malformed[12] = 0x11;
    await expect(get(port, true, { proxyHeader: malformed })).rejects.toThrow();
    // Any other peer is a direct client: a header it sends is not believed (it breaks its own TLS).
    port = await behind(['192.0.2.1']);
    expect((await get(port, true)).seen.source).toBe('127.0.0.1');
    await expect(get(port, true, { proxyHeader })).rejects.toThrow();
  });

  it('answers connections past a source’s allowance with the service’s refusal', async () => {
    const port = await start({
      edge: {
        perSource: {
          maxConnections: 2,
          refuse: (_req, res) => {
            res.statusCode = 503;
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ code: 'SATURATED', message: 'too many connections' }));
          },
        },
      },
    });
    // Two held open (keep-alive), the third refused; once one closes, a new one is served.
    const held = [await openSocket(port), await openSocket(port)];
    const refused = await get(port, true);
    expect(refused.seen).toMatchObject({ code: 'SATURATED' });
    expect(refused.headers.connection).toBe('close');
    held[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await get(port, true)).seen.chain).toBe(2);
    held[1]!.destroy();
  });

  it('serves reissued credentials to new connections', async () => {
    const issued: TlsCredentials[] = [];
    listener = new MutualTlsListener({
      name: 'test listener',
      port: 0,
      host: '127.0.0.1',
      handler,
      credentials: () => {
        issued.push(serverCredentials());
        return Promise.resolve(issued.at(-1)!);
      },
      reissueEveryMs: 3_600_000,
      logger,
    });
    await listener.listen();
    const first = await get(listener.port, true);
    await listener.reissue();
    const second = await get(listener.port, true);
    expect(issued).toHaveLength(2);
    expect(listener.credentials).toBe(issued[1]);
    expect(first.serverSerial).not.toBe(second.serverSerial);
  });

  it('lets a request under way finish when closing, then stops taking connections', async () => {
    let release: () => void = () => undefined;
    listener = new MutualTlsListener({
      name: 'test listener',
      port: 0,
      host: '127.0.0.1',
      handler: (req, res) => {
        release = () => handler(req, res);
      },
      credentials: () => Promise.resolve(serverCredentials()),
      drainMs: 2_000,
      logger,
    });
    await listener.listen();
    const port = listener.port;
    const answer = get(port, true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closed = listener.close();
    release();
    expect((await answer).seen.chain).toBe(2);
    await closed;
    expect(listener.listening).toBe(false);
    await expect(get(port, true)).rejects.toThrow();
  });
});

describe('listenerRouting', () => {
  const route = listenerRouting((listener, path) =>
    listener === 'device' ? path.startsWith('/bs/') : path === '/health',
  );
  const call = (encrypted: boolean, path: string) => {
    let status = 0;
    let nextCalled = false;
    const response = {
      status: (code: number) => {
        status = code;
        return response;
      },
      json: () => response,
    } as unknown as Response;
    route({ socket: { encrypted }, path, method: 'GET' } as unknown as Request, response, () => {
      nextCalled = true;
    });
    return nextCalled ? 'next' : status;
  };

  it('passes a path the listener serves on, and answers 404 for one it does not', () => {
    expect(call(true, '/bs/v1/bootstrap')).toBe('next');
    expect(call(false, '/bs/v1/bootstrap')).toBe(404);
    expect(call(false, '/health')).toBe('next');
    expect(call(true, '/health')).toBe(404);
  });
});
