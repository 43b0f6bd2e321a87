/**
 * Trusted time (spec §4.1 THREAT.IMG.EXPIRED.OFFLINE): the last authenticated server time plus the
 * monotonic time elapsed since, never the wall clock alone. The elapsed time is carried across
 * restarts in the persisted snapshot (a real meter's RTC keeps counting while it is off; the sim adds
 * `offlineMs` for the days it was off).
 */
export interface TrustedTimeSnapshot {
  readonly serverMs: number;
  readonly elapsedMs: number;
}

export class TrustedClock {
  private serverMs: number;
  private elapsedAtLoadMs: number;
  private monotonicAtLoad: number;

  constructor(
    snapshot: TrustedTimeSnapshot,
    private readonly monotonicMs: () => number,
    /** Time the meter spent off since the snapshot (`--ota-offline-days`). */
    offlineMs = 0,
  ) {
    this.serverMs = snapshot.serverMs;
    this.elapsedAtLoadMs = snapshot.elapsedMs + offlineMs;
    this.monotonicAtLoad = monotonicMs();
  }

  now(): Date {
    return new Date(this.serverMs + this.elapsedMs());
  }

  /** Adopts an authenticated server time (a verified directive's issuedAt); never moves backwards. */
  anchor(serverTime: Date): void {
    if (serverTime.getTime() <= this.now().getTime()) return;
    this.serverMs = serverTime.getTime();
    this.elapsedAtLoadMs = 0;
    this.monotonicAtLoad = this.monotonicMs();
  }

  snapshot(): TrustedTimeSnapshot {
    return { serverMs: this.serverMs, elapsedMs: Math.round(this.elapsedMs()) };
  }

  private elapsedMs(): number {
    return this.elapsedAtLoadMs + Math.max(0, this.monotonicMs() - this.monotonicAtLoad);
  }
}
