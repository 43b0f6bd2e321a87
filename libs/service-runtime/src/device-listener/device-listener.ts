import type { RequestListener } from 'node:http';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type InjectionToken,
  type OnApplicationBootstrap,
  type Provider,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Logger } from '@meterkeep/observability';
import type { DomainError } from '../errors/domain-error';
import { ServiceState } from '../health/readiness';
import type { ServiceCredential } from '../internal-http/service-credential';
import { SERVICE_CREDENTIAL } from '../internal-listener/internal-listener.host';
import { CONFIG, LOGGER } from '../service-core.module';
import { answerRefusal, deviceEdgeFromEnv } from './device-edge';
import { MutualTlsListener } from './mutual-tls-listener';
import { DeviceServerCredentials } from './server-credentials';

/** What a service says about its meters' listener; the rest comes from the common configuration. */
export interface DeviceListenerSettings {
  port: number;
  /** Names in the listener's certificate, as meters reach it (the first is its CN). */
  hostnames: readonly string[];
  /** An externally issued certificate and key (both or neither); else bootstrap issues one. */
  certFile?: string | undefined;
  keyFile?: string | undefined;
  /** The answer when a source holds more connections than it may. */
  saturated: DomainError;
  /** Awaited before each attempt to open (telemetry: until its Kafka writer fenced the last boot). */
  beforeOpen?: () => Promise<void>;
}

/** The common configuration the listener reads (libs/config's env schemas). */
interface DeviceListenerConfig {
  HOST: string;
  BOOTSTRAP_INTERNAL_URL: string;
  DEVICE_PROXY_PROTOCOL: boolean;
  DEVICE_TRUSTED_PROXIES?: string[] | undefined;
  DEVICE_MAX_CONNECTIONS_PER_SOURCE: number;
}

export const DEVICE_LISTENER_SETTINGS = Symbol('DEVICE_LISTENER_SETTINGS');

const REISSUE_EVERY_MS = 24 * 3_600_000;

/**
 * A service's meters' HTTPS listener (mutual TLS) beside its plain one; the same Nest application
 * answers on both (a device edge and listener routing keep them apart). Opens in the background, as the
 * server certificate may wait for bootstrap to come up; ready (probe `device-listener`) once open.
 */
@Injectable()
export class DeviceListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly credentials: DeviceServerCredentials;
  private listener: MutualTlsListener | undefined;
  private opening: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(DEVICE_LISTENER_SETTINGS) private readonly settings: DeviceListenerSettings,
    @Inject(CONFIG) private readonly config: DeviceListenerConfig,
    @Inject(SERVICE_CREDENTIAL) credential: ServiceCredential,
    @Inject(LOGGER) private readonly logger: Logger,
    state: ServiceState,
  ) {
    this.credentials = new DeviceServerCredentials({
      hostnames: settings.hostnames,
      certFile: settings.certFile,
      keyFile: settings.keyFile,
      bootstrapUrl: config.BOOTSTRAP_INTERNAL_URL,
      credential,
      logger,
    });
    state.addProbe({
      name: 'device-listener',
      check: () => (this.listener?.listening ? Promise.resolve() : Promise.reject(new Error('not open yet'))),
    });
  }

  get port(): number {
    if (!this.listener) throw new Error('The device listener is not started');
    return this.listener.port;
  }

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
        await this.settings.beforeOpen?.();
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
      port: this.settings.port,
      host: this.config.HOST,
      handler: this.adapterHost.httpAdapter.getInstance<RequestListener>(),
      credentials: () => this.credentials.fetch(),
      // An externally issued certificate is served again from its files when they change (renewals).
      ...(this.credentials.external
        ? { watchFiles: this.credentials.files }
        : { reissueEveryMs: REISSUE_EVERY_MS }),
      edge: deviceEdgeFromEnv(this.config, (_request, response) =>
        answerRefusal(response, this.settings.saturated),
      ),
      logger: this.logger,
      logFields: { hostnames: this.settings.hostnames, external: this.credentials.external },
    });
    this.listener = listener;
    await listener.listen();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.listener?.close();
  }
}

/** The providers of a service's device listener: its settings, made from what `inject` names. */
export function deviceListenerProviders<Deps extends unknown[]>(settings: {
  inject: InjectionToken[];
  useFactory: (...deps: Deps) => DeviceListenerSettings;
}): Provider[] {
  return [
    { provide: DEVICE_LISTENER_SETTINGS, inject: settings.inject, useFactory: settings.useFactory },
    DeviceListener,
  ];
}
