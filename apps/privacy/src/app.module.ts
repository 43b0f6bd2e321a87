import { type DynamicModule, Module } from '@nestjs/common';
import { AUDIT_EVENTS, PRIVACY_OCCUPANCIES } from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { PlatformModule } from '@meterkeep/service-runtime';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import type { PrivacyConfig } from './config';
import { CoreModule } from './core/core.module';
import { DataKeysModule } from './data-keys/data-keys.module';
import { migrations } from './migrations';
import { OccupanciesModule } from './occupancies/occupancies.module';
import { OutboxModule } from './outbox/outbox.module';

export const SERVICE_NAME = 'privacy';

export interface AppOptions {
  /** The PostgreSQL schema; the service's name unless a test isolates itself. */
  schema?: string;
}

@Module({})
export class AppModule {
  static forRoot(config: PrivacyConfig, logger: Logger, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({
          service: SERVICE_NAME,
          config,
          logger,
          migrations,
          topics: [AUDIT_EVENTS, PRIVACY_OCCUPANCIES],
          ...(options.schema !== undefined && { schema: options.schema }),
        }),
        CoreModule.forRoot({
          logger,
          privacyKek: config.PRIVACY_KEK,
          internalApiToken: config.INTERNAL_API_TOKEN,
          enrollmentAuth: {
            enrollmentUrl: config.ENROLLMENT_INTERNAL_URL,
            internalToken: config.INTERNAL_API_TOKEN,
          },
        }),
        OutboxModule,
        AuditModule,
        AuthModule,
        DataKeysModule,
        OccupanciesModule,
      ],
    };
  }
}
