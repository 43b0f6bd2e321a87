import { Global, Module } from '@nestjs/common';
import { ServerIdentity } from './server-identity';
import { TenantCasRepository } from './tenant-cas.repository';
import { TenantIssuers } from './tenant-issuers';

/** The CAs bootstrap holds: the tenants' issuing CAs and the device listener's server CA. */
@Global()
@Module({
  providers: [TenantCasRepository, TenantIssuers, ServerIdentity],
  exports: [TenantCasRepository, TenantIssuers, ServerIdentity],
})
export class PkiModule {}
