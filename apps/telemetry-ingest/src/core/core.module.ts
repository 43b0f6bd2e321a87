import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import type { TelemetryIngestConfig } from '../config';
import { CONFIG, LOGGER } from './tokens';

/** What every feature may inject: the logger and the config. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: TelemetryIngestConfig, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: CONFIG, useValue: config },
      ],
      exports: [LOGGER, CONFIG],
    };
  }
}
