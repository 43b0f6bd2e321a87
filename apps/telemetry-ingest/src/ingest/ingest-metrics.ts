import { TELEMETRY_ITEM_REFUSALS } from '@meterkeep/contracts';
import { countMetric, startCounterAtZero } from '@meterkeep/observability';
import type { ItemRefusal } from './reading-rules';

type Section = 'readings' | 'events';
const SECTIONS: readonly Section[] = ['readings', 'events'];

/**
 * Every section's items counted from 0 (accepted, duplicate, refused by each item refusal code), so
 * the first batches after a start show in rate().
 */
export function startItemCountersAtZero(): void {
  startCounterAtZero(
    'readings',
    SECTIONS.flatMap((section) =>
      [
        ['accepted', 'none'],
        ['duplicate', 'none'],
        ...TELEMETRY_ITEM_REFUSALS.map((code) => ['refused', code]),
      ].map(([outcome, code]) => ({
        'meterkeep.telemetry.section': section,
        'meterkeep.outcome': outcome!,
        'meterkeep.code': code!,
      })),
    ),
  );
}

/**
 * Counts a written batch's items: accepted, duplicate (already received) and refused by code. Added
 * once per label set, not per item: a batch of thousands costs a handful of counter updates.
 */
export function countBatchItems(
  accepted: readonly { section: Section }[],
  duplicates: readonly { section: Section }[],
  refused: readonly ItemRefusal[],
): void {
  const counts = new Map<string, { section: Section; outcome: string; code: string; n: number }>();
  const add = (section: Section, outcome: string, code: string) => {
    const key = `${section}|${outcome}|${code}`;
    const entry = counts.get(key);
    if (entry) entry.n++;
    else counts.set(key, { section, outcome, code, n: 1 });
  };
  for (const item of accepted) add(item.section, 'accepted', 'none');
  for (const item of duplicates) add(item.section, 'duplicate', 'none');
  for (const item of refused) add(item.section, 'refused', item.code);
  for (const { section, outcome, code, n } of counts.values())
    countMetric(
      'readings',
      { 'meterkeep.telemetry.section': section, 'meterkeep.outcome': outcome, 'meterkeep.code': code },
      n,
    );
}
