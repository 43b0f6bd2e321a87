import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { PlatformModule } from '@meterkeep/service-runtime';
import type { OtaDistributorConfig } from './config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static forRoot(config: OtaDistributorConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({
          service: 'ota-distributor',
          config,
          logger,
          migrations,
        }),
      ],
    };
  }
}
