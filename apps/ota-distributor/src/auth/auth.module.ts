import { Global, Module } from '@nestjs/common';
import { LOGGER, InternalCallerGuard, apiKeyGuardProviders } from '@meterkeep/service-runtime';
import { ApiKeyRevocationsConsumer } from './api-key-revocations.consumer';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';
import { EnrollmentApiKeysClient } from './enrollment-api-keys.client';

const apiKeyGuard = apiKeyGuardProviders(AuthenticateCallerUseCase, LOGGER);

/**
 * Operator API keys (resolved by enrollment, revocations heard on Kafka) and the internal token;
 * global so every feature can use them.
 */
@Global()
@Module({
  providers: [
    EnrollmentApiKeysClient,
    AuthenticateCallerUseCase,
    ApiKeyRevocationsConsumer,
    ...apiKeyGuard.providers,
    InternalCallerGuard,
  ],
  exports: [AuthenticateCallerUseCase, ...apiKeyGuard.exports, InternalCallerGuard],
})
export class AuthModule {}
