import { describe, expect, it } from 'vitest';
import { TrustedClock } from './trusted-clock';

const T0 = Date.parse('2026-12-02T12:00:00.000Z');

describe('TrustedClock', () => {
  it('is the last server time plus monotonic elapsed time, carried across a restart', () => {
    let mono = 1000;
    const clock = new TrustedClock({ serverMs: T0, elapsedMs: 0 }, () => mono);
    mono += 5000;
    expect(clock.now().getTime()).toBe(T0 + 5000);
    const snapshot = clock.snapshot();
    mono = 0; // a new process: its monotonic clock starts over
    const restarted = new TrustedClock(snapshot, () => mono, 120 * 86_400_000);
    expect(restarted.now().getTime()).toBe(T0 + 5000 + 120 * 86_400_000);
  });

  it('moves forward only: an older authenticated time is not adopted', () => {
    let mono = 0;
    const clock = new TrustedClock({ serverMs: T0, elapsedMs: 0 }, () => mono);
    clock.anchor(new Date(T0 - 86_400_000));
    expect(clock.now().getTime()).toBe(T0);
    clock.anchor(new Date(T0 + 3600_000));
    mono += 10;
    expect(clock.now().getTime()).toBe(T0 + 3600_000 + 10);
  });
});
