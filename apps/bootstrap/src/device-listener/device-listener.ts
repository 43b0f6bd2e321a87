import { constants } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Logger } from '@meterkeep/observability';
import type { BootstrapConfig } from '../config';
import { CONFIG, LOGGER } from '../core/tokens';
import { ServerIdentity, type TlsCredentials } from '../pki/server-identity';

/** The in-memory server certificate is reissued daily (it is valid for a week). */
const REISSUE_EVERY_MS = 24 * 3_600_000;
/** How long a stopping listener lets requests under way finish before closing their connections. */
const DRAIN_MS = 5_000;

/**
 * The meters' HTTPS listener (mutual TLS) on BOOTSTRAP_TLS_PORT, beside Nest's plain listener on PORT:
 * the same Nest application (routes, filters, middleware, DI) answers on both, and a routing
 * middleware keeps device routes to this one. Client certificates are requested but checked by the
 * application against trust anchors that change at run time, not by OpenSSL. Session tickets are off:
 * a resumed session would not carry the client's intermediate certificates.
 */
@Injectable()
export class DeviceListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server: Server | undefined;
  private credentials: TlsCredentials | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly identity: ServerIdentity,
    @Inject(CONFIG) private readonly config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The port it listens on (the one chosen when BOOTSTRAP_TLS_PORT is 0). */
  get port(): number {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('The device listener is not listening');
    return address.port;
  }

  /** The CA meters trust this listener by, PEM. */
  get caPem(): string {
    if (!this.credentials) throw new Error('The device listener has no certificate yet');
    return this.credentials.caPem;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.credentials = await this.identity.credentials();
    const handler = this.adapterHost.httpAdapter.getInstance<RequestListener>();
    const server = createServer(
      {
        ...secureContextOptions(this.credentials),
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
      },
      handler,
    );
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.BOOTSTRAP_TLS_PORT, this.config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('tlsClientError', (error) => this.logger.debug({ err: error }, 'device TLS handshake failed'));
    this.logger.info(
      {
        port: this.port,
        hostnames: this.config.BOOTSTRAP_TLS_HOSTNAMES,
        certificateNotAfter: this.credentials.notAfter.toISOString(),
        external: this.identity.external,
      },
      'device listener (mutual TLS) listening',
    );
    if (!this.identity.external) {
      this.timer = setInterval(() => void this.reissue(), REISSUE_EVERY_MS);
      this.timer.unref();
    }
  }

  /** Stops taking connections, lets requests under way finish (up to DRAIN_MS), then closes. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    const server = this.server;
    if (!server?.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const sweeper = setInterval(() => server.closeIdleConnections(), 100);
    const deadline = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    try {
      await closed;
    } finally {
      clearInterval(sweeper);
      clearTimeout(deadline);
    }
    this.logger.info('device listener closed');
  }

  private async reissue(): Promise<void> {
    try {
      const credentials = await this.identity.credentials();
      this.server?.setSecureContext(secureContextOptions(credentials));
      this.credentials = credentials;
      this.logger.info(
        { certificateNotAfter: credentials.notAfter.toISOString() },
        'device listener certificate reissued',
      );
    } catch (error) {
      this.logger.error({ err: error }, 'device listener certificate not reissued; will retry');
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
