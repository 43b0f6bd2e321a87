import { type DynamicModule, Module } from '@nestjs/common';
import { AUDIT_EVENTS, PRIVACY_CONFIRMATIONS, PRIVACY_REQUESTS } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { PlatformModule } from '@meterkeep/service-runtime';
import type { PrivacyConfig } from './config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static forRoot(config: PrivacyConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({
          service: 'privacy',
          config,
          logger,
          migrations,
          topics: [AUDIT_EVENTS, PRIVACY_CONFIRMATIONS, PRIVACY_REQUESTS],
        }),
      ],
    };
  }
}
