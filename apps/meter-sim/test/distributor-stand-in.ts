import { type KeyObject, createPublicKey } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  type CertificateAuthority,
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
} from '@meterkeep/pki';
import type { DeviceTlsCredential } from '../src/device/device-https';

/**
 * A peer for the meter's distributor client: an HTTPS server with mutual TLS (its certificate from a
 * platform server CA, meters' from an operational CA), whose answers each test scripts. It records every
 * request as it arrived, with the CN of the client certificate that made it.
 */

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly peerCn: string;
  /** SHA-256 fingerprint of the client certificate (`AA:BB:…`). */
  readonly peerFingerprint: string;
  /** The public key of the client certificate (what a receipt must verify against). */
  readonly peerPublicKey?: KeyObject;
  /** The TLS connection it came over (keep-alive: the same one for a meter's requests). */
  readonly socket: Socket;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string | number>;
  /** JSON, or exact bytes; none for a 304. */
  readonly body?: unknown;
  /** Streams bytes without a Content-Length until the client goes away (an endless answer). */
  readonly endless?: boolean;
}

export type Script = (request: SeenRequest) => ScriptedAnswer | Promise<ScriptedAnswer>;

const notScripted: Script = () => ({ status: 404, body: { code: 'EXECUTION_NOT_FOUND', message: 'no' } });

export class DistributorStandIn {
  readonly now = new Date(Math.floor(Date.now() / 1000) * 1000);
  readonly validity: { notBefore: Date; notAfter: Date };
  readonly platformCa: CertificateAuthority;
  readonly operationalCa: CertificateAuthority;
  readonly requests: SeenRequest[] = [];
  script: Script = notScripted;
  /** Bytes written by endless answers. */
  endlessBytesSent = 0;
  private server?: Server;

  /** Its own CAs, or those of a bootstrap stand-in whose meters it serves. */
  constructor(cas: { platformCa?: CertificateAuthority; operationalCa?: CertificateAuthority } = {}) {
    // Never past a borrowed CA's notAfter: a stand-in made a second later than its CAs would overrun them.
    const caEnds = [cas.platformCa, cas.operationalCa].flatMap((ca) =>
      ca ? [ca.certificate.notAfter.getTime()] : [],
    );
    this.validity = {
      notBefore: new Date(this.now.getTime() - 3600_000),
      notAfter: new Date(Math.min(this.now.getTime() + 365 * 864e5, ...caEnds)),
    };
    this.platformCa = cas.platformCa ?? this.rootCa('Platform Server CA');
    this.operationalCa = cas.operationalCa ?? this.rootCa('Operational Root');
  }

  /** A meter's operational credential (CN = endpointName), trusting `trust` (default: the platform CA). */
  meterCredential(endpointName: string, trust: CertificateAuthority = this.platformCa) {
    const keys = generateKeyPair();
    const certificate = issueCertificate({
      issuer: this.operationalCa,
      subjectPublicKey: keys.publicKey,
      subject: { commonName: endpointName },
      profile: 'operational-device',
      ...this.validity,
    });
    const credential: DeviceTlsCredential = {
      keyPem: exportPrivateKey(keys.privateKey) as string,
      certChainPem: certificate.pem,
      trustAnchorPem: [trust.certificate.pem],
    };
    return {
      credential,
      privateKey: keys.privateKey,
      publicKey: createPublicKey(keys.privateKey),
    };
  }

  /** Starts the server with a certificate from `ca` (default: the platform CA meters trust). */
  async start(ca: CertificateAuthority = this.platformCa): Promise<string> {
    const keys = generateKeyPair();
    const certificate = issueCertificate({
      issuer: ca,
      subjectPublicKey: keys.publicKey,
      subject: { commonName: 'localhost' },
      profile: 'server',
      sans: { dns: ['localhost'], ip: ['127.0.0.1'] },
      ...this.validity,
    });
    this.server = createServer(
      {
        key: exportPrivateKey(keys.privateKey),
        cert: certificate.pem,
        requestCert: true,
        rejectUnauthorized: true,
        ca: this.operationalCa.certificate.pem,
      },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const url = new URL(req.url ?? '/', 'https://localhost');
          const seen: SeenRequest = {
            method: req.method ?? '',
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            headers: req.headers,
            body: Buffer.concat(chunks),
            peerCn: String((req.socket as TLSSocket).getPeerCertificate().subject?.CN),
            peerFingerprint: (req.socket as TLSSocket).getPeerCertificate().fingerprint256,
            peerPublicKey: (req.socket as TLSSocket).getPeerX509Certificate()?.publicKey,
            socket: req.socket,
          };
          this.requests.push(seen);
          void Promise.resolve(this.script(seen)).then((answer) => {
            if (answer.endless) {
              res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
              const chunk = Buffer.alloc(16 * 1024, 0x20);
              const pump = () => {
                // Until the client goes (or 64 MiB, so a client that never stops cannot hang the test).
                while (!res.destroyed && !res.socket?.destroyed && this.endlessBytesSent < 64 * 1024 * 1024) {
                  this.endlessBytesSent += chunk.length;
                  if (!res.write(chunk)) return void res.once('drain', pump);
                }
              };
              res.write('{"manifest":');
              pump();
              return;
            }
            const body =
              answer.body === undefined
                ? undefined
                : Buffer.isBuffer(answer.body)
                  ? answer.body
                  : Buffer.from(JSON.stringify(answer.body));
            res.writeHead(answer.status, {
              ...(body && { 'content-type': 'application/json', 'content-length': body.length }),
              ...answer.headers,
            });
            res.end(body);
          });
        });
      },
    );
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `https://localhost:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The requests made to a path that ends with `suffix`. */
  to(suffix: string): SeenRequest[] {
    return this.requests.filter((r) => r.path.endsWith(suffix));
  }

  private rootCa(commonName: string): CertificateAuthority {
    return createRootCa({ subject: { commonName }, validity: this.validity });
  }
}
