import { Global, Module } from '@nestjs/common';
import { IssuingCaPublisher } from './issuing-ca-publisher';
import { ServerIdentity } from './server-identity';
import { TenantCasRepository } from './tenant-cas.repository';
import { TenantIssuers } from './tenant-issuers';

/**
 * The CAs bootstrap holds: the tenants' issuing CAs (published on bootstrap.issuing-cas.v1) and the
 * platform server CA (the device listener's and the operational servers' certificates).
 */
@Global()
@Module({
  providers: [TenantCasRepository, TenantIssuers, ServerIdentity, IssuingCaPublisher],
  exports: [TenantCasRepository, TenantIssuers, ServerIdentity, IssuingCaPublisher],
})
export class PkiModule {}
