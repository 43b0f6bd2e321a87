/** X.509 times have whole seconds: every instant put in a certificate or CRL is truncated first. */
export function wholeSeconds(at: Date | number): Date {
  const ms = typeof at === 'number' ? at : at.getTime();
  return new Date(Math.floor(ms / 1_000) * 1_000);
}

export const YEAR_MS = 365 * 86_400_000;
