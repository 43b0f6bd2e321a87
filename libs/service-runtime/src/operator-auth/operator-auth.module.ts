import { type DynamicModule, Module } from '@nestjs/common';
import { apiKeyGuardProviders } from '../auth/api-key.guard';
import { InternalCallerGuard } from '../internal-listener/internal-caller';
import { SERVICE_CREDENTIAL } from '../internal-listener/internal-listener.host';
import type { ServiceCredential } from '../internal-http/service-credential';
import { LOGGER } from '../service-core.module';
import { ApiKeyRevocationsConsumer } from './api-key-revocations.consumer';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';
import { EnrollmentApiKeysClient, type EnrollmentAuthOptions } from './enrollment-api-keys.client';
import { ENROLLMENT_AUTH, OPERATOR_AUTH_SERVICE } from './operator-auth.tokens';

export interface OperatorAuthModuleOptions extends Omit<EnrollmentAuthOptions, 'credential'> {
  /** This service's name: its replicas' revocation consumers are grouped as `<service>-api-key-revocations-…`. */
  service: string;
}

const apiKeyGuard = apiKeyGuardProviders(AuthenticateCallerUseCase, LOGGER);

/**
 * Operator API keys of a service that does not own them: resolved by enrollment (over mutual TLS with
 * the service's SERVICE_CREDENTIAL, from ServiceCoreModule), revocations heard on Kafka; and the
 * internal token. Global so every feature can use them.
 */
@Module({})
export class OperatorAuthModule {
  static forRoot({ service, ...enrollment }: OperatorAuthModuleOptions): DynamicModule {
    return {
      module: OperatorAuthModule,
      global: true,
      providers: [
        { provide: OPERATOR_AUTH_SERVICE, useValue: service },
        {
          provide: ENROLLMENT_AUTH,
          inject: [SERVICE_CREDENTIAL],
          useFactory: (credential: ServiceCredential): EnrollmentAuthOptions => ({
            ...enrollment,
            credential,
          }),
        },
        EnrollmentApiKeysClient,
        AuthenticateCallerUseCase,
        ApiKeyRevocationsConsumer,
        ...apiKeyGuard.providers,
        InternalCallerGuard,
      ],
      exports: [AuthenticateCallerUseCase, ...apiKeyGuard.exports, InternalCallerGuard],
    };
  }
}
