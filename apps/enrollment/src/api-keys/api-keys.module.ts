import { Module } from '@nestjs/common';
import { TenantsModule } from '../tenants/tenants.module';
import { ApiKeysController } from './api-keys.controller';
import { CreateApiKeyUseCase } from './create-api-key.use-case';
import { RevokeApiKeyUseCase } from './revoke-api-key.use-case';

@Module({
  imports: [TenantsModule],
  controllers: [ApiKeysController],
  providers: [CreateApiKeyUseCase, RevokeApiKeyUseCase],
  exports: [CreateApiKeyUseCase],
})
export class ApiKeysModule {}
