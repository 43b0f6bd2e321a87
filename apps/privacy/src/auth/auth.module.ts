import { Global, Module } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';
import { EnrollmentApiKeysClient } from './enrollment-api-keys.client';
import { InternalTokenGuard } from './internal-token.guard';

/** Operator API keys (resolved by enrollment) and the internal token; global so every feature can use them. */
@Global()
@Module({
  providers: [EnrollmentApiKeysClient, AuthenticateCallerUseCase, ApiKeyGuard, InternalTokenGuard],
  exports: [AuthenticateCallerUseCase, ApiKeyGuard, InternalTokenGuard],
})
export class AuthModule {}
