import { type DynamicModule, Module } from '@nestjs/common';
import {
  AUDIT_EVENTS,
  ENROLLMENT_API_KEY_REVOCATIONS,
  PRIVACY_CONSENT_STATE,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_CONSENTS,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_ERASURES,
  PRIVACY_OCCUPANCIES,
  TELEMETRY_READINGS,
} from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { PlatformModule, ServiceCoreModule } from '@meterkeep/service-runtime';
import { OperatorAuthModule } from '@meterkeep/service-runtime/operator-auth';
import { AuditModule } from './audit/audit.module';
import type { PrivacyConfig } from './config';
import { ConsentsModule } from './consents/consents.module';
import { DataKeysModule } from './data-keys/data-keys.module';
import { ErasuresModule } from './erasures/erasures.module';
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
          topics: [
            AUDIT_EVENTS,
            PRIVACY_OCCUPANCIES,
            PRIVACY_CONSENTS,
            PRIVACY_CONSENT_STATE,
            ENROLLMENT_API_KEY_REVOCATIONS,
            PRIVACY_ERASURE_REQUESTS,
            PRIVACY_CONFIRMATIONS,
            PRIVACY_ERASURES,
            TELEMETRY_READINGS,
          ],
          ...(options.schema !== undefined && { schema: options.schema }),
        }),
        ServiceCoreModule.forRoot({ config, logger }),
        OutboxModule,
        AuditModule,
        OperatorAuthModule.forRoot({ service: SERVICE_NAME, enrollmentUrl: config.ENROLLMENT_INTERNAL_URL }),
        DataKeysModule,
        OccupanciesModule,
        ConsentsModule,
        ErasuresModule.forRoot({ schema: options.schema }),
      ],
    };
  }
}
