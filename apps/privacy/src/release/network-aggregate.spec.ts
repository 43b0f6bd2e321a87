import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OverlappingCellsError, aggregateCells } from './network-aggregate';

const cell = (cellId: string, quantities: number[]) =>
  quantities.map((quantity, i) => ({ cellId, meterId: `${cellId}-m${i}`, quantity }));

describe('network-operator aggregates (≥15 meters, no meter above 15 %)', () => {
  it('releases a cell of 15 meters with even shares as one total', () => {
    expect(aggregateCells(cell('feeder-1', Array<number>(15).fill(10)))).toEqual([
      { cellId: 'feeder-1', released: true, quantity: 150, meterCount: 15 },
    ]);
  });

  it('suppresses a cell of 14 meters', () => {
    expect(aggregateCells(cell('feeder-1', Array<number>(14).fill(10)))).toEqual([
      { cellId: 'feeder-1', released: false, reason: 'too-few-meters' },
    ]);
  });

  it('suppresses a cell where one meter holds more than 15 % of the total', () => {
    const quantities = [...Array<number>(19).fill(10), 40];
    // 40 / 230 = 17 %.
    expect(aggregateCells(cell('feeder-1', quantities))).toEqual([
      { cellId: 'feeder-1', released: false, reason: 'dominated-by-one-meter' },
    ]);
    // 30 / 220 = 13.6 %: released.
    expect(aggregateCells(cell('feeder-1', [...Array<number>(19).fill(10), 30]))[0]).toMatchObject({
      released: true,
    });
  });

  it('sums one meter named twice in its cell as one meter', () => {
    const values = [...cell('f', Array<number>(14).fill(10)), { cellId: 'f', meterId: 'f-m0', quantity: 5 }];
    expect(aggregateCells(values)).toEqual([{ cellId: 'f', released: false, reason: 'too-few-meters' }]);
  });

  it('refuses a meter in two cells: one total minus the other would isolate it', () => {
    const values = [...cell('a', Array<number>(15).fill(1)), { cellId: 'b', meterId: 'a-m0', quantity: 1 }];
    expect(() => aggregateCells(values)).toThrow(OverlappingCellsError);
  });

  it('property: every released cell has ≥15 meters, none above 15 %, and its total is the sum', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            cellId: fc.constantFrom('a', 'b', 'c'),
            meter: fc.integer({ min: 0, max: 40 }),
            quantity: fc.integer({ min: -100, max: 1_000 }),
          }),
          { maxLength: 120 },
        ),
        (rows) => {
          const values = rows.map((r) => ({
            cellId: r.cellId,
            meterId: `${r.cellId}-${r.meter}`,
            quantity: r.quantity,
          }));
          for (const outcome of aggregateCells(values)) {
            const inCell = values.filter((v) => v.cellId === outcome.cellId);
            const perMeter = new Map<string, number>();
            for (const v of inCell) perMeter.set(v.meterId, (perMeter.get(v.meterId) ?? 0) + v.quantity);
            if (!outcome.released) continue;
            expect(perMeter.size).toBeGreaterThanOrEqual(15);
            const scale = [...perMeter.values()].reduce((s, q) => s + Math.abs(q), 0);
            for (const q of perMeter.values())
              if (scale > 0) expect(Math.abs(q) / scale).toBeLessThanOrEqual(0.15);
            expect(outcome.quantity).toBe(inCell.reduce((s, v) => s + v.quantity, 0));
          }
        },
      ),
    );
  });
});
