/** One fixed rate-limit window: its number since the epoch, and the seconds left in it (at least 1). */
export interface RateWindow {
  id: number;
  retryAfterSeconds: number;
}

export function rateWindow(nowMs: number, windowMs: number): RateWindow {
  const id = Math.floor(nowMs / windowMs);
  const endsAt = (id + 1) * windowMs;
  return { id, retryAfterSeconds: Math.max(1, Math.ceil((endsAt - nowMs) / 1_000)) };
}
