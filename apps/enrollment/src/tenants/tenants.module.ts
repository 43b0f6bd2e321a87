import { Module } from '@nestjs/common';
import { CreateTenantUseCase } from './create-tenant.use-case';
import { RecoverTenantUseCase } from './recover-tenant.use-case';
import { TenantsRepository } from './tenants.repository';

/** Tenants are created (`tenant create`) and recovered (`tenant recover`) by the command line (cli.ts), never over HTTP. */
@Module({
  providers: [TenantsRepository, CreateTenantUseCase, RecoverTenantUseCase],
  exports: [TenantsRepository, CreateTenantUseCase, RecoverTenantUseCase],
})
export class TenantsModule {}
