// The device listener's externally issued certificate (cert-manager renews its Secret in place) is served
// from the files as they are rewritten, with no restart: a real HTTPS listener, real files, plain TLS clients.
import { X509Certificate } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type TLSSocket, connect } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '@meterkeep/observability';
import {
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
  parseCertificates,
} from '@meterkeep/pki';
import { MutualTlsListener, type TlsCredentials } from './mutual-tls-listener';

const DAY = 86_400_000;
const seconds = (ms: number) => new Date(Math.floor(ms / 1_000) * 1_000);
const validity = { notBefore: seconds(Date.now() - DAY), notAfter: seconds(Date.now() + DAY) };
const serverCa = createRootCa({ subject: { commonName: 'Reload Test CA' }, validity, pathLen: 0 });

/** A key and a server certificate for localhost, as PEM files would hold them; its serial, lower case. */
function issuePair(): { keyPem: string; certificatePem: string; serial: string } {
  const key = generateKeyPair();
  const certificate = issueCertificate({
    issuer: serverCa,
    profile: 'server',
    subject: { commonName: 'localhost' },
    sans: { dns: ['localhost'], ip: ['127.0.0.1'] },
    subjectPublicKey: key.publicKey,
    ...validity,
  });
  const serial = new X509Certificate(certificate.pem).serialNumber;
  return {
    keyPem: exportPrivateKey(key.privateKey, 'pem') as string,
    certificatePem: certificate.pem + serverCa.certificate.pem,
    serial: serial.toLowerCase(),
  };
}

/** Polls (no fixed sleep) until the probe holds; fails after `attempts` tries. */
async function until<T>(probe: () => Promise<T | undefined>, what: string, attempts = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never saw ${what}`);
}

/** A plain TLS client: connects, and says which server certificate it was shown. */
function openConnection(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, servername: 'localhost', ca: serverCa.certificate.pem },
      () => resolve(socket),
    );
    socket.once('error', reject);
  });
}
const serialOf = (socket: TLSSocket) => socket.getPeerCertificate().serialNumber.toLowerCase();

/** The serial a new connection is shown. */
async function servedSerial(port: number): Promise<string> {
  const socket = await openConnection(port);
  const serial = serialOf(socket);
  socket.destroy();
  return serial;
}

/** One HTTP/1.1 request on an open connection; the status line of the answer. */
function requestOn(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const onData = (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve(answer.split('\r\n')[0]!);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('connection closed')));
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
  });
}

describe('MutualTlsListener with watched certificate files', () => {
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let listener: MutualTlsListener | undefined;
  let logLines: { level: string; msg: string; err?: { message?: string } }[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mk-reload-'));
    certFile = join(dir, 'tls.crt');
    keyFile = join(dir, 'tls.key');
    logLines = [];
  });
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (pair: { keyPem: string; certificatePem: string }) => {
    writeFileSync(keyFile, pair.keyPem);
    writeFileSync(certFile, pair.certificatePem);
  };

  /** Reads the files as the services do for an externally issued certificate. */
  const fromFiles = (): Promise<TlsCredentials> => {
    const certificatePem = readFileSync(certFile, 'utf8');
    const chain = parseCertificates(certificatePem);
    if (chain.length === 0) throw new Error('no certificate in the file');
    return Promise.resolve({
      keyPem: readFileSync(keyFile, 'utf8'),
      certificatePem,
      caPem: chain.at(-1)!.pem,
      notAfter: chain[0]!.notAfter,
    });
  };

  const start = async (watch: boolean) => {
    listener = new MutualTlsListener({
      name: 'device listener',
      port: 0,
      host: '127.0.0.1',
      handler: (_req, res) => res.end('ok'),
      credentials: fromFiles,
      ...(watch && { watchFiles: [certFile, keyFile], watchDebounceMs: 50 }),
      logger: createLogger({
        service: 'certificate-reload-spec',
        level: 'info',
        destination: new Writable({
          write: (chunk: Buffer, _encoding, done) => {
            logLines.push(JSON.parse(chunk.toString()) as (typeof logLines)[number]);
            done();
          },
        }),
      }),
    });
    await listener.listen();
    return listener.port;
  };

  it('serves a rewritten certificate to new connections and keeps the connections already open', async () => {
    const first = issuePair();
    write(first);
    const port = await start(true);
    const held = await openConnection(port);
    expect(serialOf(held)).toBe(first.serial);
    expect(await requestOn(held)).toBe('HTTP/1.1 200 OK');

    const renewed = issuePair();
    write(renewed);
    await until(
      async () => ((await servedSerial(port)) === renewed.serial ? true : undefined),
      'the renewed certificate',
    );
    expect(listener!.credentials.certificatePem).toBe(renewed.certificatePem);
    expect(logLines.map((l) => l.msg)).toContain('device listener certificate reloaded from its files');
    // The connection opened before the renewal is still served, under the certificate it was shown.
    expect(await requestOn(held)).toBe('HTTP/1.1 200 OK');
    expect(serialOf(held)).toBe(first.serial);
    held.destroy();
  });

  it('refuses a key that does not match the certificate and a half-written certificate, keeping the old one', async () => {
    const served = issuePair();
    write(served);
    const port = await start(true);
    const refusals = () => logLines.filter((l) => l.msg.includes('certificate files refused'));

    // A key of another pair under the served certificate (the key written, the certificate not yet).
    writeFileSync(keyFile, issuePair().keyPem);
    await until(() => Promise.resolve(refusals()[0]), 'a refusal of the mismatched key');
    expect(refusals()[0]).toMatchObject({
      level: 'warn',
      err: { message: 'the private key does not match the certificate' },
    });
    expect(await servedSerial(port)).toBe(served.serial);

    // A certificate cut off in the middle, with its own (new) key.
    const next = issuePair();
    writeFileSync(keyFile, next.keyPem);
    writeFileSync(certFile, next.certificatePem.slice(0, next.certificatePem.length / 3));
    await until(() => Promise.resolve(refusals()[1]), 'a refusal of the half-written certificate');
    expect(await servedSerial(port)).toBe(served.serial);
    expect(listener!.credentials.certificatePem).toBe(served.certificatePem);
    // No key material in any log line.
    expect(JSON.stringify(logLines)).not.toContain('PRIVATE KEY');

    // Once the pair is whole, it is served.
    writeFileSync(certFile, next.certificatePem);
    await until(
      async () => ((await servedSerial(port)) === next.serial ? true : undefined),
      'the completed pair',
    );
  });

  it('follows a Secret volume update (the kubelet swaps the ..data symlink)', async () => {
    // As the kubelet lays out a Secret volume: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/.
    const version = (name: string, pair: { keyPem: string; certificatePem: string }) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'tls.crt'), pair.certificatePem);
      writeFileSync(join(dir, name, 'tls.key'), pair.keyPem);
    };
    const first = issuePair();
    version('..v1', first);
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/tls.crt', certFile);
    symlinkSync('..data/tls.key', keyFile);
    const port = await start(true);
    expect(await servedSerial(port)).toBe(first.serial);

    const renewed = issuePair();
    version('..v2', renewed);
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await until(
      async () => ((await servedSerial(port)) === renewed.serial ? true : undefined),
      'the certificate of the new ..data',
    );
  });
});
