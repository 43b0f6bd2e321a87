import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { INTERNAL_API_TOKEN } from '@meterkeep/service-runtime';
import type { BootstrapConfig } from '../config';
import { KeySealer } from './key-sealer';
import { CONFIG, LOGGER } from './tokens';

/** What every feature may inject: the logger, the config, the key sealer (holding the KEK), the internal token. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: BootstrapConfig, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: CONFIG, useValue: config },
        { provide: KeySealer, useFactory: () => new KeySealer(config.BOOTSTRAP_KEK) },
        { provide: INTERNAL_API_TOKEN, useValue: config.INTERNAL_API_TOKEN },
      ],
      exports: [LOGGER, CONFIG, KeySealer, INTERNAL_API_TOKEN],
    };
  }
}
