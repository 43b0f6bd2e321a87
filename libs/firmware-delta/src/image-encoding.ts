import { FirmwareDeltaError } from './firmware-delta.errors';
import { checkLimits, type DecodeLimits, HARD_MAX_IMAGE_BYTES } from './limits';
import { decodeFrame, encodeFrame, type EncodeOptions } from './zstd-codec';

/** Encodings of a full image (manifest `format`); deltas are `zstd-patch` (firmware-delta.ts). */
export const IMAGE_FORMATS = ['raw', 'zstd'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export function isImageFormat(format: unknown): format is ImageFormat {
  return typeof format === 'string' && (IMAGE_FORMATS as readonly string[]).includes(format);
}

function requireImageFormat(format: unknown): asserts format is ImageFormat {
  if (!isImageFormat(format))
    throw new FirmwareDeltaError('FORMAT_UNSUPPORTED', 'image format must be one of raw, zstd');
}

/** Encodes a full image for upload (tool side): `zstd` is one frame that declares the image's size. */
export function encodeImage(format: ImageFormat, image: Uint8Array, options: EncodeOptions = {}): Uint8Array {
  requireImageFormat(format);
  if (image.length > HARD_MAX_IMAGE_BYTES)
    throw new FirmwareDeltaError('RESULT_TOO_LARGE', `image larger than ${HARD_MAX_IMAGE_BYTES} bytes`);
  return format === 'raw' ? image : encodeFrame(image, undefined, options);
}

/**
 * Decodes a downloaded full image (meter side), bounded like applyDelta: `raw` bytes beyond
 * `maxResultBytes` are refused; `zstd` must be exactly one frame declaring a size within the limit
 * (a frame from `zstd` reading a pipe, which omits the size, is refused: compress files, not streams).
 */
export function decodeImage(format: ImageFormat, bytes: Uint8Array, limits: DecodeLimits): Uint8Array {
  requireImageFormat(format);
  const checked = checkLimits(limits);
  if (format === 'raw') {
    if (bytes.length > checked.maxResultBytes)
      throw new FirmwareDeltaError(
        'RESULT_TOO_LARGE',
        `image of ${bytes.length} bytes is larger than ${checked.maxResultBytes}`,
      );
    return bytes;
  }
  return decodeFrame(bytes, undefined, checked, 'image');
}
