import { X509Certificate, constants, createPrivateKey } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type TLSSocket, createSecureContext } from 'node:tls';
import type { Logger } from '@meterkeep/observability';
import { watchFiles } from '../files/watched-files';
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
  /**
   * The files `credentials` reads (an externally issued certificate and its key, which cert-manager renews
   * in place): their directories are watched, and once they have been quiet for `watchDebounceMs` the
   * credentials are read again and served to new connections, if the new key matches the new certificate.
   * A half-written or mismatched pair is refused with a log line and the old certificate kept.
   */
  watchFiles?: readonly string[];
  /** How long the watched files must stay unchanged before they are read (a renewal writes two files). */
  watchDebounceMs?: number;
  /** A safety net for a change the watch missed: the files are read again this often (if they changed). */
  watchPollMs?: number;
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
const DEFAULT_WATCH_DEBOUNCE_MS = 1_000;
const DEFAULT_WATCH_POLL_MS = 300_000;

/**
 * An HTTPS listener for devices, with mutual TLS: client certificates are requested but checked by
 * the application (against trust anchors that change at run time), not by OpenSSL. Session tickets
 * are off: a resumed session would not carry the client's intermediate certificates. The server
 * certificate is replaced in place (setSecureContext) when reissued or when its files change (watchFiles);
 * connections already open keep theirs. Closing drains: no new connections, requests under way finish (up
 * to `drainMs`).
 */
export class MutualTlsListener {
  private server: Server | undefined;
  private current: TlsCredentials | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopWatching: (() => void) | undefined;
  /** The reload under way, if any: reloads run one after the other. */
  private reloading: Promise<void> = Promise.resolve();

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
    if (this.options.watchFiles?.length) this.watch(this.options.watchFiles);
  }

  /** Stops taking connections, lets requests under way finish (up to drainMs), then closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unwatch();
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
      this.install(credentials);
      this.options.logger.info(
        { certificateNotAfter: credentials.notAfter.toISOString() },
        `${this.options.name} certificate reissued`,
      );
    } catch (error) {
      this.options.logger.error({ err: error }, `${this.options.name} certificate not reissued; will retry`);
    }
  }

  /**
   * Reads the watched files again (through `credentials`) and serves them to new connections if they
   * changed and hold a matching pair; otherwise keeps the certificate served now. Runs after any reload
   * under way.
   */
  reloadFiles(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadOnce());
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    const { logger, name } = this.options;
    const old = this.current;
    let credentials: TlsCredentials;
    try {
      credentials = await this.options.credentials();
      if (old && credentials.keyPem === old.keyPem && credentials.certificatePem === old.certificatePem)
        return;
      this.install(credentials);
    } catch (error) {
      // Half-written (cert-manager writes the key and the certificate one after the other), or not a pair:
      // keep serving the old certificate; the next change of the files is tried again.
      logger.warn(
        { err: error, files: this.options.watchFiles, certificateNotAfter: old?.notAfter.toISOString() },
        `${name}: certificate files refused; still serving the previous certificate`,
      );
      return;
    }
    logger.info(
      { files: this.options.watchFiles, certificateNotAfter: credentials.notAfter.toISOString() },
      `${name} certificate reloaded from its files`,
    );
  }

  /** Serves the credentials to new connections, once their key is known to match their certificate. */
  private install(credentials: TlsCredentials): void {
    const options = secureContextOptions(credentials);
    assertKeyMatches(credentials);
    // Parses the whole chain and the key as OpenSSL will (throws before anything is replaced).
    createSecureContext(options);
    this.server?.setSecureContext(options);
    this.current = credentials;
  }

  private watch(files: readonly string[]): void {
    this.stopWatching = watchFiles({
      files,
      debounceMs: this.options.watchDebounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS,
      pollMs: this.options.watchPollMs ?? DEFAULT_WATCH_POLL_MS,
      onChange: () => void this.reloadFiles(),
      logger: this.options.logger,
      name: this.options.name,
    });
  }

  private unwatch(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }
}

/** Throws unless the private key belongs to the (first, leaf) certificate. */
function assertKeyMatches(credentials: TlsCredentials): void {
  const certificate = new X509Certificate(credentials.certificatePem);
  if (!certificate.checkPrivateKey(createPrivateKey(credentials.keyPem)))
    throw new Error('the private key does not match the certificate');
}

function secureContextOptions(credentials: TlsCredentials) {
  return {
    key: credentials.keyPem,
    cert: credentials.certificatePem,
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}
