import { createHash, timingSafeEqual } from 'node:crypto';
import { FirmwareDeltaError } from './firmware-delta.errors';
import { checkLimits, type DecodeLimits, HARD_MAX_IMAGE_BYTES } from './limits';
import { checkPrecursor, decodeFrame, encodeFrame, type EncodeOptions } from './zstd-codec';

/**
 * Firmware deltas in the `zstd-patch` format: one Zstandard frame (RFC 8878) of the new image,
 * compressed with the precursor image as a raw-content dictionary and a window spanning both. It is
 * byte-compatible with the zstd CLI: `zstd -d --patch-from=<precursor> <patch> -o <result>` applies a
 * patch made here, and this library applies one made by `zstd --patch-from=<precursor> <result>`.
 *
 * Why not bsdiff (the spec's `bsdiff-zstd` placeholder): on npm bsdiff is a node-gyp addon (an
 * install script, which allowScripts denies; the project is in maintenance mode) or an Emscripten
 * build that works through a virtual file system and, like bspatch 4.3, trusts the sizes in its
 * header. zstd is in Node 24 itself, maintained with it, and its frame format lets the meter check
 * the declared result size before it decodes a byte (see zstd-frame.ts).
 */
export const DELTA_FORMAT = 'zstd-patch';
export type DeltaFormat = typeof DELTA_FORMAT;

/** Makes the patch that turns `precursor` into `result` (tool side, offline). */
export function createDelta(
  precursor: Uint8Array,
  result: Uint8Array,
  options: EncodeOptions = {},
): Uint8Array {
  checkPrecursor(precursor, HARD_MAX_IMAGE_BYTES);
  if (result.length > HARD_MAX_IMAGE_BYTES)
    throw new FirmwareDeltaError('RESULT_TOO_LARGE', `result larger than ${HARD_MAX_IMAGE_BYTES} bytes`);
  return encodeFrame(result, precursor, options);
}

/**
 * Applies a patch to the precursor (meter side). Refuses, with a FirmwareDeltaError and before
 * decoding, a patch larger than `limits.maxInputBytes`, one that is not exactly one zstd frame
 * declaring its size, and one whose declared result exceeds `limits.maxResultBytes`. Applied to the
 * wrong precursor it either fails (MALFORMED) or yields other bytes: check the precursor first
 * (verifyPrecursor) and the result after (verifyDeltaResult), or use applyVerifiedDelta.
 */
export function applyDelta(precursor: Uint8Array, patch: Uint8Array, limits: DecodeLimits): Uint8Array {
  const checked = checkLimits(limits);
  checkPrecursor(precursor, HARD_MAX_IMAGE_BYTES);
  return decodeFrame(patch, precursor, checked, 'patch');
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function digestEquals(bytes: Uint8Array, expectedDigestHex: string): boolean {
  if (typeof expectedDigestHex !== 'string' || !SHA256_HEX.test(expectedDigestHex)) return false;
  const actual = createHash('sha256').update(bytes).digest();
  return timingSafeEqual(actual, Buffer.from(expectedDigestHex, 'hex'));
}

/** SHA-256 of the bytes, lowercase hex, as manifests carry digests. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Refuses (PRECURSOR_MISMATCH) a running image whose SHA-256 is not the delta's signed precursor digest. */
export function verifyPrecursor(precursor: Uint8Array, expectedDigestHex: string): void {
  if (!digestEquals(precursor, expectedDigestHex))
    throw new FirmwareDeltaError(
      'PRECURSOR_MISMATCH',
      'the running image is not the precursor this delta was made for',
    );
}

/** Refuses (DELTA_RESULT_MISMATCH) a patched image whose size or SHA-256 is not the signed result's. */
export function verifyDeltaResult(result: Uint8Array, expectedDigestHex: string, expectedSize: number): void {
  if (result.length !== expectedSize)
    throw new FirmwareDeltaError(
      'DELTA_RESULT_MISMATCH',
      `patched image has ${result.length} bytes, the manifest signs ${expectedSize}`,
    );
  if (!digestEquals(result, expectedDigestHex))
    throw new FirmwareDeltaError('DELTA_RESULT_MISMATCH', 'patched image digest differs from the signed one');
}

export interface VerifiedDeltaInput {
  /** The running image. */
  precursor: Uint8Array;
  /** The downloaded patch, already checked against the manifest's digest and size. */
  patch: Uint8Array;
  precursorDigest: string;
  resultDigest: string;
  resultSize: number;
  /** The device's own cap (slot size); the signed resultSize narrows it further. */
  maxResultBytes: number;
}

/**
 * The meter's order (spec §6.3): precursor digest, then the patch bounded by the signed result size,
 * then the result's digest and size. Returns the image to write to the inactive slot.
 */
export function applyVerifiedDelta(input: VerifiedDeltaInput): Uint8Array {
  verifyPrecursor(input.precursor, input.precursorDigest);
  const maxResultBytes = Math.min(input.maxResultBytes, input.resultSize);
  const result = applyDelta(input.precursor, input.patch, { maxResultBytes });
  verifyDeltaResult(result, input.resultDigest, input.resultSize);
  return result;
}
