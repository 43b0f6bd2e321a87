import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { INTERNAL_API_TOKEN } from '@meterkeep/service-runtime';
import type { EnrollmentAuthOptions } from '../auth/enrollment-api-keys.client';
import { DataKeyCipher } from '../data-keys/data-key-cipher';
import { ENROLLMENT_AUTH, LOGGER } from './tokens';

export interface CoreOptions {
  logger: Logger;
  privacyKek: Buffer;
  /** The shared secret of internal routes, ours and enrollment's. */
  internalApiToken: string;
  enrollmentAuth: EnrollmentAuthOptions;
}

/** What every feature may inject: the logger, the data-key cipher (holding the KEK), the internal token. */
@Global()
@Module({})
export class CoreModule {
  static forRoot({ logger, privacyKek, internalApiToken, enrollmentAuth }: CoreOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: DataKeyCipher, useFactory: () => new DataKeyCipher(privacyKek) },
        { provide: INTERNAL_API_TOKEN, useValue: internalApiToken },
        { provide: ENROLLMENT_AUTH, useValue: enrollmentAuth },
      ],
      exports: [LOGGER, DataKeyCipher, INTERNAL_API_TOKEN, ENROLLMENT_AUTH],
    };
  }
}
