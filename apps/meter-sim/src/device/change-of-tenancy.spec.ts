import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runMeterSim } from '../cli';
import { MeterProfile } from '../telemetry/interval-data';
import { type ChangeOfTenancy, LOAD_PROFILE_DAYS, OnMeterRecords, TENANCY_FILE } from './change-of-tenancy';
import { MeterStorage } from './meter-storage';

const METER = 'MTR-COT-000001';
const MOVE_OUT = new Date('2026-03-14T10:17:00Z');
const NOW = new Date('2026-03-16T08:00:00Z');

describe('meter-sim change of tenancy', () => {
  let state: string;
  let storage: MeterStorage;
  const records = () => new OnMeterRecords(new MeterProfile(METER), storage);

  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'meter-sim-cot-'));
    storage = new MeterStorage(join(state, METER));
    storage.write('factory-bundle.json', '{}');
  });
  afterEach(() => {
    rmSync(state, { recursive: true, force: true });
    vi.restoreAllMocks();
  });

  it('clears the stored load profile and log before the change; the display shows only what came after', () => {
    const before = records().history(NOW);
    expect(before.from.getTime()).toBe(NOW.getTime() - LOAD_PROFILE_DAYS * 86_400_000);
    expect(before.loadProfile.some((r) => Date.parse(r.intervalStart) < MOVE_OUT.getTime())).toBe(true);

    records().changeOfTenancy(MOVE_OUT, NOW);

    // A new instance reads the non-volatile memory, as the meter does after a restart.
    const after = records().history(NOW);
    expect(after.from).toEqual(MOVE_OUT);
    expect(after.loadProfile.length).toBeGreaterThan(0);
    for (const reading of after.loadProfile)
      expect(Date.parse(reading.intervalStart)).toBeGreaterThanOrEqual(MOVE_OUT.getTime());
    for (const event of after.events)
      expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(MOVE_OUT.getTime());
    // The half-hour the move-out fell in began before it: not shown, it mixes both occupants.
    expect(after.loadProfile[0]!.intervalStart).toBe('2026-03-14T10:30:00Z');
    // Everything measured since stays: the next occupant's own history.
    const since = before.loadProfile.filter((r) => Date.parse(r.intervalStart) >= MOVE_OUT.getTime());
    expect(after.loadProfile).toEqual(since);
  });

  it('reports a billing snapshot before and after: same register, history gone after', () => {
    const change = records().changeOfTenancy(MOVE_OUT, NOW);
    const day = new MeterProfile(METER).day('2026-03-14').readings;
    // The register at 00:00Z plus the 20 half-hours ended by 10:17.
    const expected = day[0]!.value + day.slice(1, 21).reduce((sum, r) => sum + r.value, 0);
    expect(change.before).toMatchObject({
      takenAt: MOVE_OUT.toISOString(),
      importRegisterWh: expected,
      registerAsOf: '2026-03-14T10:00:00.000Z',
    });
    expect(change.before.loadProfileIntervals).toBeGreaterThan(48 * 300);
    expect(change.after).toEqual({
      ...change.before,
      historyFrom: MOVE_OUT.toISOString(),
      loadProfileIntervals: 0,
      eventLogEntries: 0,
    });
    expect(records().changes()).toEqual([change]);
  });

  it('a second change clears from its own instant; a change earlier than the last or in the future is refused', () => {
    records().changeOfTenancy(MOVE_OUT, NOW);
    const later = new Date('2026-03-15T00:00:00Z');
    const second = records().changeOfTenancy(later, NOW);
    expect(second.before.historyFrom).toBe(MOVE_OUT.toISOString());
    expect(second.before.loadProfileIntervals).toBe(27);
    expect(records().history(NOW).from).toEqual(later);
    expect(() => records().changeOfTenancy(MOVE_OUT, NOW)).toThrow(/last change of tenancy/);
    expect(() => records().changeOfTenancy(new Date(NOW.getTime() + 1), NOW)).toThrow(/future/);
    expect(records().changes()).toHaveLength(2);
  });

  it('the command prints both snapshots and keeps them; an unknown meter or a bad instant is a usage error', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(
      await runMeterSim([
        'change-of-tenancy',
        '--state',
        state,
        '--meter',
        METER,
        '--at',
        MOVE_OUT.toISOString(),
      ]),
    ).toBe(0);
    const printed = JSON.parse(String(log.mock.calls[0]?.[0])) as ChangeOfTenancy & { meter: string };
    expect(printed.meter).toBe(METER);
    expect(printed.after.loadProfileIntervals).toBe(0);
    expect(printed.before.loadProfileIntervals).toBeGreaterThan(0);
    expect(storage.has(TENANCY_FILE)).toBe(true);
    await expect(runMeterSim(['change-of-tenancy', '--state', state, '--meter', 'MTR-NONE'])).rejects.toThrow(
      /no meter MTR-NONE/,
    );
    await expect(
      runMeterSim(['change-of-tenancy', '--state', state, '--meter', METER, '--at', 'yesterday']),
    ).rejects.toThrow(/valid instant/);
  });
});
