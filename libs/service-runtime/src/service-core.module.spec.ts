import 'reflect-metadata';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createLogger } from '@meterkeep/observability';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import type { ServiceCredential } from './internal-http/service-credential';
import { InternalListenerHost, SERVICE_CREDENTIAL } from './internal-listener/internal-listener.host';
import { CONFIG, LOGGER, ServiceCoreModule } from './service-core.module';
import { testCa, testIdentity, testIdentityFiles } from './testing/identities';

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

describe('ServiceCoreModule with identity files', () => {
  it('watches them while the application runs: a renewed certificate is served and presented with no restart', async () => {
    const ca = testCa();
    const first = testIdentity(ca, 'enrollment');
    const files = testIdentityFiles(first);
    @Module({
      imports: [
        ServiceCoreModule.forRoot({
          config: { ...files, INTERNAL_PORT: 0, HOST: '127.0.0.1' },
          logger: createLogger({ service: 'core-spec', level: 'silent' }),
        }),
      ],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    try {
      const listener = app.get(InternalListenerHost);
      const credential = app.get<ServiceCredential>(SERVICE_CREDENTIAL);
      // A new connection (Connection: close) to its own internal listener: the serial it is shown.
      const served = () =>
        new Promise<string>((resolve, reject) => {
          request(
            `${listener.url}/`,
            { agent: credential.agent, servername: 'localhost', headers: { connection: 'close' } },
            (res) => {
              res.resume();
              resolve((res.socket as TLSSocket).getPeerX509Certificate()!.serialNumber);
            },
          )
            .on('error', reject)
            .end();
        });
      expect(await served()).toBe(new X509Certificate(first.certificatePem).serialNumber);

      const renewed = testIdentity(ca, 'enrollment');
      writeFileSync(files.SERVICE_TLS_KEY_FILE, renewed.keyPem);
      writeFileSync(files.SERVICE_TLS_CERT_FILE, renewed.certificatePem);
      const expected = new X509Certificate(renewed.certificatePem).serialNumber;
      for (let i = 0; i < 200 && (await served()) !== expected; i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await served()).toBe(expected);
      expect((credential.agent.options as { cert?: string }).cert).toBe(renewed.certificatePem);
    } finally {
      await app.close();
    }
  });
});
