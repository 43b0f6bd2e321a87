import { constants } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@meterkeep/observability';
import { type DeviceEdgeOptions, installDeviceEdge } from './device-edge';
import { rememberPeerChain } from './peer-chain';

/** What a mutual-TLS listener serves: its key and certificate, and the CA its clients trust it by. */
export interface TlsCredentials {
  keyPem: string;
  /** The server certificate, PEM, leaf first (intermediates may follow). */
  certificatePem: string;
  /** The CA clients trust the listener by. */
  caPem: string;
  notAfter: Date;
}

export interface MutualTlsListenerOptions {
  /** Names the listener in its log lines, such as `device listener`. */
  name: string;
  /** 0 takes any free port (tests). */
  port: number;
  host: string;
  /** Answers each request: typically the Nest application's Express instance. */
  handler: RequestListener;
  /** Fetched at start-up and again every `reissueEveryMs`. */
  credentials: () => Promise<TlsCredentials>;
  /** How often the credentials are fetched again; never when absent (an externally issued certificate). */
  reissueEveryMs?: number;
  /** How long a stopping listener lets requests under way finish before closing their connections. */
  drainMs?: number;
  /**
   * How long an idle keep-alive connection stays open: devices keep theirs between requests, so this
   * outlasts a typical client's or load balancer's idle timeout (60 s).
   */
  keepAliveTimeoutMs?: number;
  /** How long a whole request may take, headers and body (Node's default is 300 s). */
  requestTimeoutMs?: number;
  /** PROXY protocol and per-source connection limits (see installDeviceEdge). */
  edge?: DeviceEdgeOptions;
  logger: Logger;
  /** Said in the "listening" log line besides the port, such as the certificate's host names. */
  logFields?: Record<string, unknown>;
}

const DEFAULT_DRAIN_MS = 5_000;
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 90_000;

/**
 * An HTTPS listener for devices, with mutual TLS: client certificates are requested but checked by
 * the application (against trust anchors that change at run time), not by OpenSSL. Session tickets
 * are off: a resumed session would not carry the client's intermediate certificates. The server
 * certificate is replaced in place (setSecureContext) when reissued; connections already open keep
 * theirs. Closing drains: no new connections, requests under way finish (up to `drainMs`).
 */
export class MutualTlsListener {
  private server: Server | undefined;
  private current: TlsCredentials | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MutualTlsListenerOptions) {}

  /** The port it listens on (the one chosen when asked for port 0). */
  get port(): number {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error(`The ${this.options.name} is not listening`);
    return address.port;
  }

  /** The credentials served now. */
  get credentials(): TlsCredentials {
    if (!this.current) throw new Error(`The ${this.options.name} has no certificate yet`);
    return this.current;
  }

  get listening(): boolean {
    return this.server?.listening === true;
  }

  async listen(): Promise<void> {
    if (this.server) throw new Error(`The ${this.options.name} is already started`);
    const { logger } = this.options;
    this.current = await this.options.credentials();
    const server = createServer({
      ...secureContextOptions(this.current),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    server.on('request', installDeviceEdge(server, this.options.handler, this.options.edge ?? {}, logger));
    const keepAliveTimeout = this.options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
    server.keepAliveTimeout = keepAliveTimeout;
    // Above the keep-alive timeout: a request arriving on an idle connection as it times out is not cut.
    server.headersTimeout = keepAliveTimeout + 1_000;
    server.requestTimeout = Math.max(
      server.headersTimeout,
      this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    );
    // Before the connection reads any request: see rememberPeerChain.
    server.on('secureConnection', (socket: TLSSocket) => rememberPeerChain(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('tlsClientError', (error) =>
      logger.debug({ err: error }, `${this.options.name}: TLS handshake failed`),
    );
    logger.info(
      {
        ...this.options.logFields,
        port: this.port,
        certificateNotAfter: this.current.notAfter.toISOString(),
      },
      `${this.options.name} (mutual TLS) listening`,
    );
    if (this.options.reissueEveryMs !== undefined) {
      this.timer = setInterval(() => void this.reissue(), this.options.reissueEveryMs);
      this.timer.unref();
    }
  }

  /** Stops taking connections, lets requests under way finish (up to drainMs), then closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const server = this.server;
    if (!server?.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const sweeper = setInterval(() => server.closeIdleConnections(), 100);
    const deadline = setTimeout(() => server.closeAllConnections(), this.options.drainMs ?? DEFAULT_DRAIN_MS);
    try {
      await closed;
    } finally {
      clearInterval(sweeper);
      clearTimeout(deadline);
    }
    this.options.logger.info(`${this.options.name} closed`);
  }

  /** Fetches the credentials again and serves them to new connections; a failure keeps the old ones. */
  async reissue(): Promise<void> {
    try {
      const credentials = await this.options.credentials();
      this.server?.setSecureContext(secureContextOptions(credentials));
      this.current = credentials;
      this.options.logger.info(
        { certificateNotAfter: credentials.notAfter.toISOString() },
        `${this.options.name} certificate reissued`,
      );
    } catch (error) {
      this.options.logger.error({ err: error }, `${this.options.name} certificate not reissued; will retry`);
    }
  }
}

function secureContextOptions(credentials: TlsCredentials) {
  return {
    key: credentials.keyPem,
    cert: credentials.certificatePem,
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}
