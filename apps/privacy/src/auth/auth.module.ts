import { Global, Module } from '@nestjs/common';
import { LOGGER, InternalTokenGuard, apiKeyGuardProviders } from '@meterkeep/service-runtime';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';
import { EnrollmentApiKeysClient } from './enrollment-api-keys.client';

const apiKeyGuard = apiKeyGuardProviders(AuthenticateCallerUseCase, LOGGER);

/** Operator API keys (resolved by enrollment) and the internal token; global so every feature can use them. */
@Global()
@Module({
  providers: [
    EnrollmentApiKeysClient,
    AuthenticateCallerUseCase,
    ...apiKeyGuard.providers,
    InternalTokenGuard,
  ],
  exports: [AuthenticateCallerUseCase, ...apiKeyGuard.exports, InternalTokenGuard],
})
export class AuthModule {}
