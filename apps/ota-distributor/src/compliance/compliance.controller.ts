import { Controller, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { OTA_COMPLIANCE_GET } from '@meterkeep/contracts';
import {
  ANY_ROLE,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  ZodPipe,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { ReadComplianceUseCase } from './read-compliance.use-case';
import { apiSchemas } from '../openapi/schemas';

const queryPipe = new ZodPipe(OTA_COMPLIANCE_GET.query!, 'query');

@ApiTags('Firmware compliance')
@AuthenticatedByEnrollment()
@Controller()
export class ComplianceController {
  constructor(private readonly readCompliance: ReadComplianceUseCase) {}

  @ContractRoute(OTA_COMPLIANCE_GET, apiSchemas)
  @Roles(...ANY_ROLE)
  get(@CurrentCaller() caller: Caller, @Query(queryPipe) query: { classId?: string }) {
    return this.readCompliance.execute(caller, query.classId);
  }
}
