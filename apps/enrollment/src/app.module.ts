import { type DynamicModule, Module } from '@nestjs/common';
import {
  AUDIT_EVENTS,
  DEVICE_LIFECYCLE,
  ENROLLMENT_DEVICES,
  ENROLLMENT_TRUST_ANCHORS,
} from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { PlatformModule } from '@meterkeep/service-runtime';
import type { EnrollmentConfig } from './config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static forRoot(config: EnrollmentConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({
          service: 'enrollment',
          config,
          logger,
          migrations,
          topics: [AUDIT_EVENTS, DEVICE_LIFECYCLE, ENROLLMENT_DEVICES, ENROLLMENT_TRUST_ANCHORS],
        }),
      ],
    };
  }
}
