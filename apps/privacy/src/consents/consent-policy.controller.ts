import { Body, Controller } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  type ConsentPolicyPut,
  PRIVACY_CONSENT_POLICY_GET,
  PRIVACY_CONSENT_POLICY_PUT,
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
import { ConsentPolicies } from './consent-policies';
import { SetConsentPolicyUseCase, toConsentPolicyView } from './set-consent-policy.use-case';

/** The tenant's consent policy (routes of libs/contracts): an admin overrides the preset, every role reads. */
@ApiTags('Consents')
@AuthenticatedByEnrollment()
@Controller()
export class ConsentPolicyController {
  constructor(
    private readonly setPolicy: SetConsentPolicyUseCase,
    private readonly policies: ConsentPolicies,
  ) {}

  @ContractRoute(PRIVACY_CONSENT_POLICY_PUT)
  @Roles('admin')
  put(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(PRIVACY_CONSENT_POLICY_PUT.request)) body: ConsentPolicyPut,
  ) {
    return this.setPolicy.execute(caller, body);
  }

  @ContractRoute(PRIVACY_CONSENT_POLICY_GET)
  @Roles(...ANY_ROLE)
  async get(@CurrentCaller() caller: Caller) {
    return toConsentPolicyView(await this.policies.latest(caller.tenantId));
  }
}
