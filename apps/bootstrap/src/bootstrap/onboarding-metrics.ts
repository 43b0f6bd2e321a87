import { CERTIFICATE_BOOTSTRAP, type HttpRouteContract, PSK_BOOTSTRAP } from '@meterkeep/contracts';
import { countMetric, startCounterAtZero } from '@meterkeep/observability';
import { DomainError, declaredRefusalCodes } from '@meterkeep/service-runtime';
import type { IssuanceKind } from '../core/database';

export type OnboardingMethod = 'certificate' | 'psk';

/** The route each method onboards by: its contract declares the refusal codes it may answer. */
const ROUTE_OF: Record<OnboardingMethod, HttpRouteContract> = {
  certificate: CERTIFICATE_BOOTSTRAP,
  psk: PSK_BOOTSTRAP,
};

const ISSUANCE_KINDS = Object.keys({ bootstrap: true, renewal: true } satisfies Record<
  IssuanceKind,
  true
>) as IssuanceKind[];

/** The outcomes an onboarding by `method` can have: success, a refusal its route declares, INTERNAL. */
export function onboardingOutcomes(method: OnboardingMethod): string[] {
  const route = ROUTE_OF[method];
  const refusals = Object.keys(route.responses)
    .map(Number)
    .filter((status) => status >= 400)
    .flatMap((status) => declaredRefusalCodes(route, status));
  return ['success', ...new Set(refusals), 'INTERNAL'];
}

/**
 * Starts the onboardings (every method and outcome) and the certificates issued (every kind) at 0,
 * so the first attempts after a start show in rate(); bootstrap's module init calls it.
 */
export function startOnboardingCountersAtZero(): void {
  startCounterAtZero(
    'onboardings',
    (Object.keys(ROUTE_OF) as OnboardingMethod[]).flatMap((method) =>
      onboardingOutcomes(method).map((outcome) => ({
        'meterkeep.bootstrap.method': method,
        'meterkeep.outcome': outcome,
      })),
    ),
  );
  startCounterAtZero(
    'certificatesIssued',
    ISSUANCE_KINDS.map((kind) => ({ 'meterkeep.issuance.kind': kind })),
  );
}

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
