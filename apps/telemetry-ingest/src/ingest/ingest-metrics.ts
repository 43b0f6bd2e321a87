import { countMetric } from '@meterkeep/observability';
import type { ItemRefusal } from './reading-rules';

type Section = 'readings' | 'events';

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
