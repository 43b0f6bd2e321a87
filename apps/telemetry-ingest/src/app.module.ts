import { type DynamicModule, Module } from '@nestjs/common';
import { PRIVACY_REQUESTS, TELEMETRY_READINGS, TELEMETRY_REJECTED } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { PlatformModule } from '@meterkeep/service-runtime';
import type { TelemetryIngestConfig } from './config';

@Module({})
export class AppModule {
  static forRoot(config: TelemetryIngestConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({
          service: 'telemetry-ingest',
          config,
          logger,
          topics: [PRIVACY_REQUESTS, TELEMETRY_READINGS, TELEMETRY_REJECTED],
        }),
      ],
    };
  }
}
