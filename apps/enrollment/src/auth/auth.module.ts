import { Global, Module } from '@nestjs/common';
import { ApiKeyIntrospectionController } from './api-key-introspection.controller';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysRepository } from './api-keys.repository';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';

/** API-key authentication for every operator route; global so each feature's controllers can use it. */
@Global()
@Module({
  controllers: [ApiKeyIntrospectionController],
  providers: [ApiKeysRepository, AuthenticateCallerUseCase, ApiKeyGuard],
  exports: [ApiKeysRepository, AuthenticateCallerUseCase, ApiKeyGuard],
})
export class AuthModule {}
