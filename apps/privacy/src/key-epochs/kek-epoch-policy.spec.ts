import { describe, expect, it } from 'vitest';
import { backupsRecoverableUntil, destructionDue, rotationDue, unrecoverableAfter } from './kek-epoch-policy';

const DAY = 24 * 3600 * 1000;
const schedule = { rotationDays: 30, backupRetentionDays: 35 };
const t0 = new Date('2026-11-01T00:00:00Z');
const at = (days: number) => new Date(t0.getTime() + days * DAY);

describe('KEK epoch schedule', () => {
  it('rotates away from an epoch once it is rotationDays old, and from epoch 0 at once', () => {
    expect(rotationDue({ epoch: 3, opened_at: t0 }, at(29.9), schedule)).toBe(false);
    expect(rotationDue({ epoch: 3, opened_at: t0 }, at(30), schedule)).toBe(true);
    expect(rotationDue({ epoch: 0, opened_at: t0 }, t0, schedule)).toBe(true);
  });

  it('destroys an epoch only when it was retired longer ago than any backup is kept', () => {
    const retired = { retired_at: t0, destroyed_at: null };
    expect(destructionDue(retired, at(35), schedule)).toBe(false);
    expect(destructionDue(retired, at(35.01), schedule)).toBe(true);
    // Never while it may still hold live keys, and never twice.
    expect(destructionDue({ retired_at: null, destroyed_at: null }, at(1000), schedule)).toBe(false);
    expect(destructionDue({ retired_at: t0, destroyed_at: at(36) }, at(1000), schedule)).toBe(false);
  });

  it('dates when a backup can no longer bring back a key of a retired epoch', () => {
    expect(unrecoverableAfter(t0, schedule)).toEqual(at(35));
  });

  it('states how long backups keep a key of each epoch recoverable, for the erasure certificate', () => {
    const epoch = { epoch: 4, opened_at: t0, retired_at: null, destroyed_at: null };
    expect(backupsRecoverableUntil(epoch, schedule)).toEqual({ until: at(65), estimated: true });
    expect(backupsRecoverableUntil({ ...epoch, retired_at: at(31) }, schedule)).toEqual({
      until: at(66),
      estimated: false,
    });
    expect(backupsRecoverableUntil({ ...epoch, retired_at: at(31), destroyed_at: at(67) }, schedule)).toEqual(
      {
        until: at(67),
        estimated: false,
      },
    );
    // Epoch 0 is PRIVACY_KEK itself: no date while that key is kept, even once its record is destroyed.
    expect(
      backupsRecoverableUntil({ ...epoch, epoch: 0, retired_at: t0, destroyed_at: at(40) }, schedule),
    ).toEqual({
      until: null,
      estimated: false,
    });
  });
});
