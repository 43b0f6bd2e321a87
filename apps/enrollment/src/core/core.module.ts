import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { INTERNAL_API_TOKEN } from '@meterkeep/service-runtime';
import { PskCipher } from '../devices/psk-cipher';
import { LOGGER } from './tokens';

export interface CoreOptions {
  logger: Logger;
  pskKek: Buffer;
  /** The shared secret of internal routes; undefined turns them off. */
  internalApiToken?: string;
}

/** What every feature may inject: the logger, the PSK cipher (holding the KEK), the internal token. */
@Global()
@Module({})
export class CoreModule {
  static forRoot({ logger, pskKek, internalApiToken }: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: PskCipher, useFactory: () => new PskCipher(pskKek) },
        { provide: INTERNAL_API_TOKEN, useValue: internalApiToken },
      ],
      exports: [LOGGER, PskCipher, INTERNAL_API_TOKEN],
    };
  }
}
