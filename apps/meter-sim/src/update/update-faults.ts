/**
 * Fault injection for e2e runs and benches (spec §6.3, issue #12): rates are probabilities in [0, 1].
 */
export interface UpdateFaults {
  /** `--ota-fail-rate`: the health check after a reboot fails (→ ROLLED_BACK HEALTH_CHECK_FAILED). */
  readonly failRate: number;
  /** `--ota-boot-fail-rate`: the new image never confirms (→ ROLLED_BACK BOOT_CONFIRM_TIMEOUT). */
  readonly bootFailRate: number;
  /** `--ota-slow-bps`: the link's rate; the meter reads no faster. */
  readonly slowBytesPerSecond?: number;
  /** `--ota-drop-at-bytes`: every download attempt loses its connection after this many bytes. */
  readonly dropAtBytes?: number;
  /** `--ota-offline-days`: days the meter was off; its trusted clock counts them. */
  readonly offlineDays: number;
  /** `--ota-clock-skew` (ms): skews the wall clock, which no trust decision reads. */
  readonly clockSkewMs: number;
  /**
   * `--ota-tamper-meters N` (this meter is one of the first N): one byte of every downloaded image is
   * changed before it is verified, as an on-path attacker would (→ REJECTED DIGEST_MISMATCH).
   */
  readonly tamperImages?: boolean;
  /**
   * `--ota-lose-receipt-meters N` (this meter is one of the first N): its first receipt POST is lost on
   * the way (the distributor never hears it), as an acknowledgement lost in the field is; the next
   * check-in names the execution again and the receipt is signed again (spec §4.3).
   */
  readonly loseFirstReceipt?: boolean;
}

export const NO_FAULTS: UpdateFaults = { failRate: 0, bootFailRate: 0, offlineDays: 0, clockSkewMs: 0 };

export class FaultOptionError extends Error {}

const FLAGS = {
  '--ota-fail-rate': 'failRate',
  '--ota-boot-fail-rate': 'bootFailRate',
  '--ota-slow-bps': 'slowBytesPerSecond',
  '--ota-drop-at-bytes': 'dropAtBytes',
  '--ota-offline-days': 'offlineDays',
  '--ota-clock-skew': 'clockSkewMs',
} as const;

/** Parses `--ota-*` flags (`--flag value` or `--flag=value`); a bad value names the flag. */
export function parseUpdateFaults(args: readonly string[]): UpdateFaults {
  const faults: Record<string, number | boolean> = { ...NO_FAULTS };
  for (let i = 0; i < args.length; i += 1) {
    const [flag, inline] = args[i]!.split('=', 2) as [string, string | undefined];
    if (!Object.hasOwn(FLAGS, flag)) continue;
    const raw = inline ?? args[(i += 1)];
    const value = Number(raw);
    const key = FLAGS[flag as keyof typeof FLAGS];
    const rate = key === 'failRate' || key === 'bootFailRate';
    const valid =
      raw !== undefined &&
      raw.trim() !== '' &&
      Number.isFinite(value) &&
      (rate ? value >= 0 && value <= 1 : key === 'clockSkewMs' || value >= 0) &&
      (key === 'slowBytesPerSecond' || key === 'dropAtBytes' ? Number.isInteger(value) && value > 0 : true);
    if (!valid)
      throw new FaultOptionError(
        `${flag} needs ${rate ? 'a rate from 0 to 1' : 'a number'}, got ${raw ?? 'nothing'}`,
      );
    faults[key] = value;
  }
  return faults as unknown as UpdateFaults;
}
