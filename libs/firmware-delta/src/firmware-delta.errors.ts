/**
 * Every way the firmware-delta library refuses something. One code per reason, so the meter maps it
 * once to the OTA failure registry (spec §6.8): INPUT_TOO_LARGE and RESULT_TOO_LARGE are
 * `SIZE_EXCEEDED`; MALFORMED on a delta, PRECURSOR_UNSUPPORTED and DELTA_RESULT_MISMATCH are
 * `DELTA_RESULT_MISMATCH`; PRECURSOR_MISMATCH is `PRECURSOR_MISMATCH`; FORMAT_UNSUPPORTED is
 * `FORMAT_UNSUPPORTED`. Messages carry sizes only, never payload bytes.
 */
export const FIRMWARE_DELTA_ERROR_CODES = [
  /** A limit passed by the caller is not a positive safe integer within the hard cap. */
  'INVALID_LIMITS',
  /** The patch or encoded image is larger than its bound: refused before any decoding. */
  'INPUT_TOO_LARGE',
  /** The declared (or produced) result is larger than `maxResultBytes`. */
  'RESULT_TOO_LARGE',
  /** Not exactly one well-formed zstd frame of the expected shape, or it does not decode. */
  'MALFORMED',
  /** The payload format is not one this library decodes. */
  'FORMAT_UNSUPPORTED',
  /** A precursor this format cannot use (larger than the hard cap, or read by zstd as a dictionary). */
  'PRECURSOR_UNSUPPORTED',
  /** The running image is not the precursor the delta was made against. */
  'PRECURSOR_MISMATCH',
  /** The patched image's size or SHA-256 differs from the signed result. */
  'DELTA_RESULT_MISMATCH',
] as const;

export type FirmwareDeltaErrorCode = (typeof FIRMWARE_DELTA_ERROR_CODES)[number];

export class FirmwareDeltaError extends Error {
  constructor(
    readonly code: FirmwareDeltaErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FirmwareDeltaError';
  }
}

export function isFirmwareDeltaError(
  error: unknown,
  code?: FirmwareDeltaErrorCode,
): error is FirmwareDeltaError {
  return error instanceof FirmwareDeltaError && (code === undefined || error.code === code);
}
