import type { RequestListener } from 'node:http';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Logger } from '@meterkeep/observability';
import {
  CONFIG,
  LOGGER,
  MutualTlsListener,
  answerRefusal,
  deviceEdgeFromEnv,
} from '@meterkeep/service-runtime';
import { BootstrapErrors } from '../bootstrap/bootstrap.errors';
import type { BootstrapConfig } from '../config';
import { ServerIdentity } from '../pki/server-identity';

/** The in-memory server certificate is reissued daily (it is valid for a week). */
const REISSUE_EVERY_MS = 24 * 3_600_000;
/** Retry-After of a connection past its source's allowance (DEVICE_MAX_CONNECTIONS_PER_SOURCE). */
const TOO_MANY_CONNECTIONS_RETRY_S = 10;

/**
 * The meters' HTTPS listener (mutual TLS) on BOOTSTRAP_TLS_PORT, beside Nest's plain listener on PORT:
 * the same Nest application (routes, filters, middleware, DI) answers on both, and a routing
 * middleware keeps device routes to this one (see listener-routes.ts). The listener itself is the
 * shared MutualTlsListener; this wrapper gives it bootstrap's identity and the application's lifecycle.
 */
@Injectable()
export class DeviceListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private listener: MutualTlsListener | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly identity: ServerIdentity,
    @Inject(CONFIG) private readonly config: BootstrapConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The port it listens on (the one chosen when BOOTSTRAP_TLS_PORT is 0). */
  get port(): number {
    return this.started().port;
  }

  /** The CA meters trust this listener by, PEM. */
  get caPem(): string {
    return this.started().credentials.caPem;
  }

  async onApplicationBootstrap(): Promise<void> {
    const listener = new MutualTlsListener({
      name: 'device listener',
      port: this.config.BOOTSTRAP_TLS_PORT,
      host: this.config.HOST,
      handler: this.adapterHost.httpAdapter.getInstance<RequestListener>(),
      credentials: () => this.identity.credentials(),
      // An externally issued certificate is the operator's to renew (cert-manager rewrites the files):
      // served again from its files when they change, no restart.
      ...(this.identity.external
        ? { watchFiles: [this.config.BOOTSTRAP_TLS_CERT_FILE!, this.config.BOOTSTRAP_TLS_KEY_FILE!] }
        : { reissueEveryMs: REISSUE_EVERY_MS }),
      edge: deviceEdgeFromEnv(this.config, (_request, response) =>
        answerRefusal(response, BootstrapErrors.rateLimited(TOO_MANY_CONNECTIONS_RETRY_S)),
      ),
      logger: this.logger,
      logFields: { hostnames: this.config.BOOTSTRAP_TLS_HOSTNAMES, external: this.identity.external },
    });
    this.listener = listener;
    await listener.listen();
  }

  /** Stops taking connections, lets requests under way finish, then closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.listener?.close();
  }

  private started(): MutualTlsListener {
    if (!this.listener) throw new Error('The device listener is not started');
    return this.listener;
  }
}
