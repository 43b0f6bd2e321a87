import { Module } from '@nestjs/common';
import { CreateTenantUseCase } from './create-tenant.use-case';
import { TenantsRepository } from './tenants.repository';

/** Tenants are created by the `tenant create` command (cli.ts), never over HTTP. */
@Module({
  providers: [TenantsRepository, CreateTenantUseCase],
  exports: [TenantsRepository, CreateTenantUseCase],
})
export class TenantsModule {}
