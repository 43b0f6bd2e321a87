import { constants } from 'node:crypto';
import { once } from 'node:events';
import type { RequestListener } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@meterkeep/observability';
import type { ServiceIdentity } from './service-identity';

const internalSockets = new WeakSet<Socket>();

/** Whether a request came in on an internal listener (mutual TLS with the platform CA, verified). */
export function onInternalListener(socket: Socket): boolean {
  return internalSockets.has(socket);
}

export interface InternalListenerOptions {
  /** 0 takes any free port (tests). */
  port: number;
  host: string;
  identity: ServiceIdentity;
  /** The Nest application's Express instance. */
  handler: RequestListener;
  logger: Logger;
  drainMs?: number;
}

/**
 * The listener of internal routes: HTTPS where OpenSSL itself refuses a client without a certificate
 * from the platform CA (rejectUnauthorized), so nothing reaches the application unauthenticated.
 * Which service called, and whether it may, is the InternalCallerGuard's.
 */
export class InternalListener {
  private server: Server | undefined;

  constructor(private readonly options: InternalListenerOptions) {}

  get port(): number {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('The internal listener is not listening');
    return address.port;
  }

  /** Its address as another service on this machine reaches it. */
  get url(): string {
    const host = this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host;
    return `https://${host}:${this.port}`;
  }

  async listen(): Promise<void> {
    const { identity, logger } = this.options;
    const server = createServer(
      { ...secureContextOf(identity), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
      this.options.handler,
    );
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.authorized) internalSockets.add(socket);
    });
    server.on('tlsClientError', (error) =>
      logger.debug({ err: error }, 'internal listener: TLS handshake refused'),
    );
    this.server = server;
    // once() rejects on 'error' (the port taken) before 'listening'.
    await once(server.listen(this.options.port, this.options.host), 'listening');
    logger.info({ port: this.port, identity: identity.name }, 'internal listener (mutual TLS) listening');
  }

  /** Serves a renewed identity (and platform CA) to new connections; those open keep theirs. */
  useIdentity(identity: ServiceIdentity): void {
    this.server?.setSecureContext(secureContextOf(identity));
    this.options.logger.info({ identity: identity.name }, 'internal listener serves the renewed identity');
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = setTimeout(() => server.closeAllConnections(), this.options.drainMs ?? 5_000);
    try {
      await closed;
    } finally {
      clearTimeout(deadline);
    }
  }
}

function secureContextOf(identity: ServiceIdentity) {
  return {
    key: identity.keyPem,
    cert: identity.certificatePem,
    ca: identity.platformCaPem,
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}
