/**
 * What a network operator may receive (spec §4.2, GB DNO privacy plans [P9], the US "15/15" pattern
 * [P16]): only a cell's total (a feeder or substation, one window), and only when the cell holds at least
 * `minMeters` meters and no meter's share of it exceeds `maxShare`; otherwise the cell is suppressed.
 * Pure: the caller supplies each meter's value for the window, already cut to the occupancies that
 * permit it.
 *
 * Cells partition the meters: a meter counted in two cells would let one cell's total be subtracted
 * from another's to isolate it, so a meter named in two cells refuses the whole window.
 */

export interface AggregateRule {
  /** Fewest distinct meters a released cell holds (default 15). */
  minMeters: number;
  /** Largest share of a cell's total any one meter may hold, 0–1 (default 0.15). */
  maxShare: number;
}

export const DEFAULT_AGGREGATE_RULE: AggregateRule = { minMeters: 15, maxShare: 0.15 };

export interface MeterValue {
  cellId: string;
  meterId: string;
  quantity: number;
}

export type CellOutcome =
  | { cellId: string; released: true; quantity: number; meterCount: number }
  | { cellId: string; released: false; reason: 'too-few-meters' | 'dominated-by-one-meter' };

export class OverlappingCellsError extends Error {
  constructor(readonly meterId: string) {
    super(`meter ${meterId} is in more than one cell: cells must partition the meters`);
    this.name = 'OverlappingCellsError';
  }
}

export function aggregateCells(
  values: readonly MeterValue[],
  rule: AggregateRule = DEFAULT_AGGREGATE_RULE,
): CellOutcome[] {
  const cellOf = new Map<string, string>();
  const cells = new Map<string, Map<string, number>>();
  for (const { cellId, meterId, quantity } of values) {
    const known = cellOf.get(meterId);
    if (known !== undefined && known !== cellId) throw new OverlappingCellsError(meterId);
    cellOf.set(meterId, cellId);
    const meters = cells.get(cellId) ?? new Map<string, number>();
    meters.set(meterId, (meters.get(meterId) ?? 0) + quantity);
    cells.set(cellId, meters);
  }
  return [...cells.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([cellId, meters]): CellOutcome => {
      if (meters.size < rule.minMeters) return { cellId, released: false, reason: 'too-few-meters' };
      const magnitudes = [...meters.values()].map(Math.abs);
      const scale = magnitudes.reduce((sum, q) => sum + q, 0);
      if (scale > 0 && magnitudes.some((q) => q / scale > rule.maxShare))
        return { cellId, released: false, reason: 'dominated-by-one-meter' };
      const quantity = [...meters.values()].reduce((sum, q) => sum + q, 0);
      return { cellId, released: true, quantity, meterCount: meters.size };
    });
}
