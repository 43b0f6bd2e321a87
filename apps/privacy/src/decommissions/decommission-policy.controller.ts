import { Body, Controller } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  type DecommissionPolicyPut,
  PRIVACY_DECOMMISSION_POLICY_GET,
  PRIVACY_DECOMMISSION_POLICY_PUT,
} from '@meterkeep/contracts';
import {
  ANY_ROLE,
  type Caller,
  ContractRoute,
  CurrentCaller,
  Roles,
  ZodPipe,
} from '@meterkeep/service-runtime';
import { AuthenticatedByEnrollment } from '@meterkeep/service-runtime/operator-auth';
import { DecommissionPoliciesRepository } from './decommission-policies.repository';
import { SetDecommissionPolicyUseCase, toDecommissionPolicyView } from './decommission-policy.use-case';

/** A tenant admin chooses erase or retain for decommissioned meters (routes of libs/contracts); every role reads. */
@ApiTags('Decommissioning')
@AuthenticatedByEnrollment()
@Controller()
export class DecommissionPolicyController {
  constructor(
    private readonly setPolicy: SetDecommissionPolicyUseCase,
    private readonly policies: DecommissionPoliciesRepository,
  ) {}

  @ContractRoute(PRIVACY_DECOMMISSION_POLICY_PUT)
  @Roles('admin')
  put(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(PRIVACY_DECOMMISSION_POLICY_PUT.request)) body: DecommissionPolicyPut,
  ) {
    return this.setPolicy.execute(caller, body);
  }

  @ContractRoute(PRIVACY_DECOMMISSION_POLICY_GET)
  @Roles(...ANY_ROLE)
  async get(@CurrentCaller() caller: Caller) {
    return toDecommissionPolicyView(await this.policies.find(caller.tenantId));
  }
}
