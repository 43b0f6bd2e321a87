import { countMetric, startCounterAtZero } from '@meterkeep/observability';

/**
 * What a counted erasure destroyed: a data key (by an erasure saga or the operator's route), a
 * certified erasure, a key whose retention expired, or a release key (erasure, or a purpose withdrawn).
 */
export const ERASURE_KINDS = ['data-key', 'certified', 'retention-expiry', 'release-key'] as const;
export type ErasureKind = (typeof ERASURE_KINDS)[number];

export function countErasure(kind: ErasureKind, n = 1): void {
  if (n > 0) countMetric('erasures', { 'meterkeep.erasure.kind': kind }, n);
}

/** Every kind counted from 0, so the first erasures after a start show in increase(). */
export function startErasureCounterAtZero(): void {
  startCounterAtZero(
    'erasures',
    ERASURE_KINDS.map((kind) => ({ 'meterkeep.erasure.kind': kind })),
  );
}
