import { countMetric } from '@meterkeep/observability';
import { DomainError } from '@meterkeep/service-runtime';

export type OnboardingMethod = 'certificate' | 'psk';

/**
 * Counts one onboarding attempt by its outcome: `success`, the refusal code the meter is answered
 * with, or INTERNAL for an unexpected error. Codes come from the bootstrap contract: a bounded set.
 */
export async function countOnboarding<T>(method: OnboardingMethod, attempt: Promise<T>): Promise<T> {
  try {
    const answer = await attempt;
    countMetric('onboardings', { 'meterkeep.bootstrap.method': method, 'meterkeep.outcome': 'success' });
    return answer;
  } catch (error) {
    const outcome = error instanceof DomainError ? error.code : 'INTERNAL';
    countMetric('onboardings', { 'meterkeep.bootstrap.method': method, 'meterkeep.outcome': outcome });
    throw error;
  }
}
