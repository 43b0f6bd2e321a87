import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import type { BootstrapConfig } from '../config';
import { KeySealer } from './key-sealer';
import { CONFIG, LOGGER } from './tokens';

/** What every feature may inject: the logger, the config and the key sealer (holding the KEK). */
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
      ],
      exports: [LOGGER, CONFIG, KeySealer],
    };
  }
}
