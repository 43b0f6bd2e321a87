import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { PskCipher } from '../devices/psk-cipher';
import { LOGGER } from './tokens';

export interface CoreOptions {
  logger: Logger;
  pskKek: Buffer;
}

/** What every feature may inject: the logger and the PSK cipher (holding the KEK). */
@Global()
@Module({})
export class CoreModule {
  static forRoot({ logger, pskKek }: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: PskCipher, useFactory: () => new PskCipher(pskKek) },
      ],
      exports: [LOGGER, PskCipher],
    };
  }
}
