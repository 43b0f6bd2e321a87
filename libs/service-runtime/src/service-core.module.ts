import { type DynamicModule, Global, type InjectionToken, Module, type Provider } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { INTERNAL_API_TOKEN } from './auth/internal-token.guard';

/** The service's JSON logger (`@Inject(LOGGER) logger: Logger`). */
export const LOGGER = Symbol('meterkeep:logger');
/** The service's validated configuration (`@Inject(CONFIG) config: <Service>Config`). */
export const CONFIG = Symbol('meterkeep:config');

export interface ServiceCoreOptions {
  /** The config as loaded once at start-up; INTERNAL_API_TOKEN, when the service has internal routes. */
  config: { INTERNAL_API_TOKEN?: string };
  logger: Logger;
  /** What else every feature of this service may inject (a cipher holding its KEK, …); all exported. */
  providers?: Provider[];
}

function tokenOf(provider: Provider): InjectionToken {
  return typeof provider === 'function' ? provider : provider.provide;
}

/**
 * What every feature of a service may inject, the same in every service: LOGGER, CONFIG,
 * INTERNAL_API_TOKEN (the config's; undefined turns the internal routes off) and the service's own
 * providers. Tokens particular to one service stay in that service.
 */
@Global()
@Module({})
export class ServiceCoreModule {
  static forRoot({ config, logger, providers = [] }: ServiceCoreOptions): DynamicModule {
    const all: Provider[] = [
      { provide: LOGGER, useValue: logger },
      { provide: CONFIG, useValue: config },
      { provide: INTERNAL_API_TOKEN, useValue: config.INTERNAL_API_TOKEN },
      ...providers,
    ];
    return { module: ServiceCoreModule, global: true, providers: all, exports: all.map(tokenOf) };
  }
}
