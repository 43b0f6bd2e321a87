import { Global, Module } from '@nestjs/common';
import { LOGGER, apiKeyGuardProviders } from '@meterkeep/service-runtime';
import { ApiKeyIntrospectionController } from './api-key-introspection.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';

const apiKeyGuard = apiKeyGuardProviders(AuthenticateCallerUseCase, LOGGER);

/**
 * API-key authentication for every operator route, keys resolved from this service's own store; global
 * so each feature's controllers can use it.
 */
@Global()
@Module({
  controllers: [ApiKeyIntrospectionController],
  providers: [ApiKeysRepository, AuthenticateCallerUseCase, ...apiKeyGuard.providers],
  exports: [ApiKeysRepository, AuthenticateCallerUseCase, ...apiKeyGuard.exports],
})
export class AuthModule {}
