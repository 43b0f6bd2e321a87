import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createLogger } from '@meterkeep/observability';
import { describe, expect, it } from 'vitest';
import { CONFIG, LOGGER, ServiceCoreModule } from './service-core.module';

class Sealer {
  constructor(readonly key: string) {}
}

/** A feature module that imports nothing, as a service's features do. */
@Injectable()
class Feature {
  constructor(
    @Inject(LOGGER) readonly logger: unknown,
    @Inject(CONFIG) readonly config: unknown,
    @Inject(Sealer) readonly sealer: Sealer,
  ) {}
}

@Module({ providers: [Feature] })
class FeatureModule {}

describe('ServiceCoreModule', () => {
  it('gives every feature the logger, the config and the service’s own providers', async () => {
    const logger = createLogger({ service: 'core-spec', level: 'silent' });
    const config = { SEALER_KEY: 'k' };
    @Module({
      imports: [
        ServiceCoreModule.forRoot({
          config,
          logger,
          providers: [{ provide: Sealer, useFactory: () => new Sealer(config.SEALER_KEY) }],
        }),
        FeatureModule,
      ],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      const feature = app.get(Feature);
      expect(feature.logger).toBe(logger);
      expect(feature.config).toBe(config);
      expect(feature.sealer.key).toBe('k');
    } finally {
      await app.close();
    }
  });
});
