import * as zlib from 'node:zlib';
import { FirmwareDeltaError } from './firmware-delta.errors';
import { type CheckedLimits, windowLogFor } from './limits';
import { readZstdFrame } from './zstd-frame';

/**
 * The bounded zstd engine behind both encodings: node:zlib's zstd (libzstd inside Node 24, no
 * dependency, no native build step), always one frame that declares its content size, decoded only
 * after readZstdFrame has accepted its shape and its declared size is within the caller's limit.
 */

const DEFAULT_LEVEL = 19;
const MAX_CHUNK = 1024 * 1024;

/** zstd reads a dictionary that starts with this magic as a trained dictionary, not raw content. */
const ZSTD_DICTIONARY_MAGIC = 0xec30a437;

function zstdAvailable(): boolean {
  return typeof zlib.zstdCompressSync === 'function' && typeof zlib.zstdDecompressSync === 'function';
}

function requireZstd(): void {
  if (!zstdAvailable())
    throw new FirmwareDeltaError('FORMAT_UNSUPPORTED', 'this Node.js has no zstd in node:zlib');
}

/**
 * A precursor is used as a raw-content dictionary (as `zstd --patch-from` does). One that begins with
 * zstd's dictionary magic would be parsed as a trained dictionary instead, and one beyond the hard cap
 * would need too large a window: both are refused on the tool side and the meter side alike.
 */
export function checkPrecursor(precursor: Uint8Array, maxBytes: number): void {
  if (precursor.length > maxBytes)
    throw new FirmwareDeltaError('PRECURSOR_UNSUPPORTED', `precursor larger than ${maxBytes} bytes`);
  if (
    precursor.length >= 4 &&
    new DataView(precursor.buffer, precursor.byteOffset, 4).getUint32(0, true) === ZSTD_DICTIONARY_MAGIC
  ) {
    throw new FirmwareDeltaError(
      'PRECURSOR_UNSUPPORTED',
      'precursor starts with the zstd dictionary magic number',
    );
  }
}

export interface EncodeOptions {
  /** zstd level, 1..22. Default 19: images and deltas are made once offline and fetched by every meter. */
  level?: number;
}

export function encodeFrame(
  content: Uint8Array,
  dictionary: Uint8Array | undefined,
  options: EncodeOptions = {},
): Buffer {
  requireZstd();
  const level = options.level ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > 22)
    throw new FirmwareDeltaError('INVALID_LIMITS', 'zstd level must be an integer from 1 to 22');
  const reach = Math.max(content.length, dictionary?.length ?? 0);
  const C = zlib.constants;
  return zlib.zstdCompressSync(content, {
    pledgedSrcSize: content.length,
    ...(dictionary && dictionary.length > 0 ? { dictionary } : {}),
    params: {
      [C.ZSTD_c_compressionLevel]: level,
      // The window must span the whole precursor and result, so every part of the precursor stays
      // reachable (what `zstd --patch-from` sets); it is the decoder's memory, bounded on the meter.
      [C.ZSTD_c_windowLog]: windowLogFor(reach),
      [C.ZSTD_c_contentSizeFlag]: 1,
      // The signed SHA-256 of the result is the integrity check; zstd's XXH64 would add nothing.
      [C.ZSTD_c_checksumFlag]: 0,
      [C.ZSTD_c_dictIDFlag]: 0,
    },
  });
}

/**
 * Decodes exactly one zstd frame, after checking its shape and declared size against the limits. The
 * decoder's window is capped to what the declared result (and dictionary) need, and its output to the
 * declared size, so nothing larger than the result and the dictionary's copy is ever allocated.
 */
export function decodeFrame(
  frame: Uint8Array,
  dictionary: Uint8Array | undefined,
  limits: CheckedLimits,
  what: 'patch' | 'image',
): Buffer {
  requireZstd();
  if (frame.length > limits.maxInputBytes)
    throw new FirmwareDeltaError(
      'INPUT_TOO_LARGE',
      `${what} of ${frame.length} bytes is larger than ${limits.maxInputBytes}`,
    );
  const info = readZstdFrame(frame);
  if (info.contentSize > limits.maxResultBytes)
    throw new FirmwareDeltaError(
      'RESULT_TOO_LARGE',
      `${what} declares a result of ${info.contentSize} bytes, more than ${limits.maxResultBytes}`,
    );
  if (info.dictionaryId !== 0)
    throw new FirmwareDeltaError('MALFORMED', `${what} refers to a trained zstd dictionary`);

  const reach = Math.max(info.contentSize, dictionary?.length ?? 0);
  const C = zlib.constants;
  let out: Buffer;
  try {
    out = zlib.zstdDecompressSync(frame, {
      ...(dictionary && dictionary.length > 0 ? { dictionary } : {}),
      maxOutputLength: Math.max(1, info.contentSize),
      chunkSize: Math.min(MAX_CHUNK, Math.max(64, info.contentSize)),
      params: { [C.ZSTD_d_windowLogMax]: windowLogFor(reach) },
    });
  } catch (error) {
    // libzstd's corruption, window and size errors, and Node's output cap: all mean the bytes are not
    // the frame they claim to be (or not for this dictionary).
    throw new FirmwareDeltaError('MALFORMED', `${what} does not decode`, { cause: error });
  }
  if (out.length !== info.contentSize)
    throw new FirmwareDeltaError('MALFORMED', `${what} decodes to another size than it declares`);
  return out;
}
