import { describe, expect, it } from 'vitest';
import type { OccupancyRow } from '../core/database';
import type { ReleaseRecallRow, ReleasedWindowRow } from './exports.repository';
import { releaseEntries } from './release-entries';

const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 0, day, hour));
const occupancy = (id: string, from: Date, to: Date | null) =>
  ({ occupancy_id: id, meter_id: 'MTR-1', valid_from: from, valid_to: to }) as OccupancyRow;
const window = (day: number): ReleasedWindowRow => ({
  occupancy_id: 'occ-a',
  recipient: 'third-party:coach',
  purpose: 'third-party',
  level: 'daily',
  window_start: at(day),
  window_end: at(day + 1),
  event_id: `ev-${day}`,
  key_id: 'rk-1',
  released_at: at(20),
});
const recall = (day: number, from: Date, to: Date): ReleaseRecallRow => ({
  release_event_id: `ev-${day}`,
  tenant_id: 't',
  meter_id: 'MTR-1',
  occupancy_id: 'occ-a',
  recipient: 'third-party:coach',
  reason: 'occupancy-backdated',
  notice_id: 'n-1',
  period_from: at(6, 12),
  period_to: at(25),
  readings_from: from,
  readings_to: to,
  recalled_at: at(25),
});

describe('releases.json entries', () => {
  const a = occupancy('occ-a', at(1), at(6, 12));
  const recalls = [recall(6, at(6, 12), at(7)), recall(8, at(8), at(9))];
  const others = recalls.map((r) => ({ ...window(Number(r.release_event_id.slice(3))), ...r }));

  it('marks the old occupant’s recalled releases, from its own move-out, and leaves the others as they were', () => {
    const entries = releaseEntries([a], [window(5), window(6), window(8)], recalls, []);
    expect(entries.map((e) => [e.eventId, e.recalled])).toEqual([
      ['ev-5', undefined],
      ['ev-6', { at: at(25).toISOString(), reason: 'occupancy-backdated', from: at(6, 12).toISOString() }],
      ['ev-8', { at: at(25).toISOString(), reason: 'occupancy-backdated', from: at(6, 12).toISOString() }],
    ]);
  });

  it('gives the next occupant the values that held its readings, cut to its period, under its own id only', () => {
    // B moved in on day 8 (the meter was vacant from the move-out): day 6's value held none of B's.
    const b = occupancy('occ-b', at(8), null);
    const entries = releaseEntries([b], [], [], others);
    expect(entries).toEqual([
      expect.objectContaining({
        occupancyId: 'occ-b',
        eventId: 'ev-8',
        releasedUnder: 'another-occupancy-consent',
        readingsFrom: at(8).toISOString(),
        readingsTo: at(9).toISOString(),
        recalled: { at: at(25).toISOString(), reason: 'occupancy-backdated' },
      }),
    ]);
    expect(JSON.stringify(entries)).not.toContain('occ-a');
    // The recalled occupancy itself never sees its own recalls as another's.
    expect(releaseEntries([a], [], [], others)).toEqual([]);
  });
});
