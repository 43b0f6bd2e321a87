import { type DynamicModule, Global, type InjectionToken, Module, type Provider } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import {
  INTERNAL_LISTEN,
  INTERNAL_LISTENER_LOGGER,
  InternalListenerHost,
  SERVICE_CREDENTIAL,
  SERVICE_IDENTITY,
} from './internal-listener/internal-listener.host';
import type { ServiceIdentityConfig } from './internal-listener/service-identity';
import { ServiceIdentityFiles } from './internal-listener/service-identity-files';
import { reloadingMutualTlsCredential } from './internal-http/service-credential';

/** The service's JSON logger (`@Inject(LOGGER) logger: Logger`). */
export const LOGGER = Symbol('meterkeep:logger');
/** The service's validated configuration (`@Inject(CONFIG) config: <Service>Config`). */
export const CONFIG = Symbol('meterkeep:config');

export interface ServiceCoreOptions {
  /**
   * The config as loaded once at start-up: the service identity files when it calls or serves
   * internal routes, and INTERNAL_PORT when it serves them.
   */
  config: Record<string, unknown> &
    Partial<ServiceIdentityConfig> & { INTERNAL_PORT?: number; HOST?: string };
  logger: Logger;
  /** What else every feature of this service may inject (a cipher holding its KEK, …); all exported. */
  providers?: Provider[];
}

function tokenOf(provider: Provider): InjectionToken {
  return typeof provider === 'function' ? provider : provider.provide;
}

/**
 * What every feature of a service may inject, the same in every service: LOGGER, CONFIG,
 * SERVICE_IDENTITY (when the config names its files; read and checked here, at start-up, and again when
 * they change), the
 * internal listener (when it has an INTERNAL_PORT) and the service's own providers. Tokens particular to one service stay in that service.
 */
@Global()
@Module({})
export class ServiceCoreModule {
  static forRoot({ config, logger, providers = [] }: ServiceCoreOptions): DynamicModule {
    const all: Provider[] = [
      { provide: LOGGER, useValue: logger },
      { provide: CONFIG, useValue: config },
      ...providers,
    ];
    const { SERVICE_TLS_CERT_FILE, SERVICE_TLS_KEY_FILE, PLATFORM_CA_FILE } = config;
    if (SERVICE_TLS_CERT_FILE && SERVICE_TLS_KEY_FILE && PLATFORM_CA_FILE) {
      const identity = new ServiceIdentityFiles(
        { SERVICE_TLS_CERT_FILE, SERVICE_TLS_KEY_FILE, PLATFORM_CA_FILE },
        logger,
      );
      all.push(
        { provide: SERVICE_IDENTITY, useValue: identity },
        { provide: SERVICE_CREDENTIAL, useValue: reloadingMutualTlsCredential(identity) },
      );
      if (config.INTERNAL_PORT !== undefined)
        all.push(
          {
            provide: INTERNAL_LISTEN,
            useValue: { port: config.INTERNAL_PORT, host: config.HOST ?? '0.0.0.0' },
          },
          { provide: INTERNAL_LISTENER_LOGGER, useValue: logger },
          InternalListenerHost,
        );
    }
    return { module: ServiceCoreModule, global: true, providers: all, exports: all.map(tokenOf) };
  }
}
