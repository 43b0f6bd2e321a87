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
  ServiceState,
  answerRefusal,
  deviceEdgeFromEnv,
} from '@meterkeep/service-runtime';
import type { OtaDistributorConfig } from '../config';
import { DeviceEdgeErrors } from './device-edge.errors';
import { ServerCredentials } from './server-credentials';

const REISSUE_EVERY_MS = 24 * 3_600_000;

/**
 * The meters' HTTPS listener (mutual TLS) on OTA_TLS_PORT, beside the plain one for operators and
 * probes; the same Nest application answers on both (DeviceEdge and listener routing keep them apart).
 */
@Injectable()
export class DeviceListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private listener: MutualTlsListener | undefined;
  private opening: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly credentials: ServerCredentials,
    @Inject(CONFIG) private readonly config: OtaDistributorConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    state: ServiceState,
  ) {
    state.addProbe({
      name: 'device-listener',
      check: () => (this.listener?.listening ? Promise.resolve() : Promise.reject(new Error('not open yet'))),
    });
  }

  get port(): number {
    if (!this.listener) throw new Error('The device listener is not started');
    return this.listener.port;
  }

  /** Opens in the background: the server certificate may wait for bootstrap to come up. */
  onApplicationBootstrap(): void {
    this.opening = this.open();
  }

  /** Settles once the listener is open (tests). */
  whenOpen(): Promise<void> {
    return this.opening ?? Promise.reject(new Error('The device listener is not started'));
  }

  private async open(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.listen();
        return;
      } catch (error) {
        this.logger.warn({ err: error, attempt }, 'device listener not open yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1_000 * attempt)).unref());
      }
    }
  }

  private async listen(): Promise<void> {
    const listener = new MutualTlsListener({
      name: 'device listener',
      port: this.config.OTA_TLS_PORT,
      host: this.config.HOST,
      handler: this.adapterHost.httpAdapter.getInstance<RequestListener>(),
      credentials: () => this.credentials.fetch(),
      // An externally issued certificate is served again from its files when they change (renewals).
      ...(this.credentials.external
        ? { watchFiles: this.credentials.files }
        : { reissueEveryMs: REISSUE_EVERY_MS }),
      edge: deviceEdgeFromEnv(this.config, (_request, response) =>
        answerRefusal(response, DeviceEdgeErrors.saturated()),
      ),
      logger: this.logger,
      logFields: { hostnames: this.config.OTA_TLS_HOSTNAMES, external: this.credentials.external },
    });
    this.listener = listener;
    await listener.listen();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.listener?.close();
  }
}
