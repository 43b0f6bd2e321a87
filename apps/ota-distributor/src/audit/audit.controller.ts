import { Controller, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { AuditChainVerifier } from '@meterkeep/audit';
import { type AuditVerifyQuery, OTA_AUDIT_VERIFY, auditVerifyQuery } from '@meterkeep/contracts';
import {
  ANY_ROLE,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  ZodPipe,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { apiSchemas } from '../openapi/schemas';

/** Recomputes the calling tenant's audit hash chain (route of libs/contracts); every role reads. */
@ApiTags('Audit')
@AuthenticatedByEnrollment()
@Controller()
export class AuditController {
  constructor(private readonly verifier: AuditChainVerifier) {}

  @ContractRoute(OTA_AUDIT_VERIFY, apiSchemas)
  @Roles(...ANY_ROLE)
  @ApiQuery({ name: 'from', required: false, schema: { type: 'integer', minimum: 1 } })
  @ApiQuery({ name: 'to', required: false, schema: { type: 'integer', minimum: 1 } })
  verify(
    @CurrentCaller() caller: Caller,
    @Query(new ZodPipe(auditVerifyQuery, 'query')) query: AuditVerifyQuery,
  ) {
    return this.verifier.verify(caller.tenantId, query);
  }
}
