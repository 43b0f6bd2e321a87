import { Injectable } from '@nestjs/common';
import { type ConsentPolicy, GB_PRESET } from './policy';

/**
 * The policy each tenant's consents are decided under. Every tenant runs the GB preset for now; a
 * tenant's override (overridePolicy) plugs in here, and each entry records the policy it was decided
 * under, so a later version never rewrites an earlier decision.
 */
@Injectable()
export class ConsentPolicies {
  forTenant(_tenantId: string): ConsentPolicy {
    return GB_PRESET;
  }
}
