import { FirmwareDeltaError } from './firmware-delta.errors';
import { zstdCompressBound } from './zstd-frame';

/**
 * No image, precursor or patch beyond this, whatever the caller asks: 256 MiB is eight times the
 * default per-class image cap (32 MiB), and keeps zstd's window at 2^28 at most.
 */
export const HARD_MAX_IMAGE_BYTES = 256 * 1024 * 1024;

export interface DecodeLimits {
  /** The largest result (decoded image) accepted; a larger declared or produced result is refused. */
  maxResultBytes: number;
  /**
   * The largest patch or encoded image accepted before any work is spent on it. Default: the largest
   * frame zstd can make from `maxResultBytes` (ZSTD_compressBound), since a larger one cannot be honest.
   */
  maxInputBytes?: number;
}

export interface CheckedLimits {
  maxResultBytes: number;
  maxInputBytes: number;
}

function checkLimit(name: string, value: unknown): number {
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < 0 ||
    value > HARD_MAX_IMAGE_BYTES
  ) {
    throw new FirmwareDeltaError(
      'INVALID_LIMITS',
      `${name} must be an integer between 0 and ${HARD_MAX_IMAGE_BYTES}`,
    );
  }
  return value;
}

export function checkLimits(limits: DecodeLimits): CheckedLimits {
  const maxResultBytes = checkLimit('maxResultBytes', limits?.maxResultBytes);
  const maxInputBytes =
    limits?.maxInputBytes === undefined
      ? zstdCompressBound(maxResultBytes)
      : checkLimit('maxInputBytes', limits.maxInputBytes);
  return { maxResultBytes, maxInputBytes };
}

/** The smallest zstd windowLog (10..31) whose window holds `bytes`. */
export function windowLogFor(bytes: number): number {
  let log = 10;
  while (log < 31 && 2 ** log < bytes) log += 1;
  return log;
}
