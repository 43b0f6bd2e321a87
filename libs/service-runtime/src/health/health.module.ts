import { type DynamicModule, Module, type InjectionToken } from '@nestjs/common';
import type { HealthProbe } from '@meterkeep/observability';
import { HealthController } from './health.controller';
import { ServiceState } from './readiness';

@Module({})
export class HealthModule {
  /** `probes` are the injection tokens of the HealthProbe providers this service's readiness needs. */
  static forRoot(probes: InjectionToken[]): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      controllers: [HealthController],
      providers: [
        {
          provide: ServiceState,
          inject: probes,
          useFactory: (...resolved: HealthProbe[]) => new ServiceState(resolved),
        },
      ],
      exports: [ServiceState],
    };
  }
}
