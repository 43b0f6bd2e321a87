import { FirmwareDeltaError } from './firmware-delta.errors';

/**
 * The shape of one Zstandard frame (RFC 8878 §3.1.1), read from its header and block headers only:
 * no entropy decoding, so it costs a few reads per 128 KiB block. It lets a caller refuse a frame
 * that declares too large a result, hides its size, or carries bytes after its end before zstd
 * allocates anything for it.
 */
export interface ZstdFrameInfo {
  /** Frame_Content_Size: the exact number of bytes the frame decodes to. */
  contentSize: number;
  /** Window_Size the decoder must keep (for a single-segment frame, the content size). */
  windowSize: number;
  /** Dictionary_ID, 0 when absent (raw-content dictionaries and `--patch-from` write none). */
  dictionaryId: number;
  hasChecksum: boolean;
  /** Bytes from the magic number to the end of the last block (and checksum): the frame's length. */
  frameLength: number;
}

const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_SIZE_MAX = 128 * 1024;
const BLOCK_TYPE_RAW = 0;
const BLOCK_TYPE_RLE = 1;
const BLOCK_TYPE_COMPRESSED = 2;

function malformed(message: string): FirmwareDeltaError {
  return new FirmwareDeltaError('MALFORMED', message);
}

/**
 * Reads the frame at the start of `bytes` and walks its blocks to its end. Throws MALFORMED unless
 * `bytes` is exactly one zstd frame (no skippable frame, no second frame, no trailing byte) whose
 * header declares its content size, with reserved bits clear and block sizes within the RFC's limits.
 */
export function readZstdFrame(bytes: Uint8Array): ZstdFrameInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (offset: number, length: number, what: string): void => {
    if (offset + length > bytes.length) throw malformed(`zstd frame truncated in its ${what}`);
  };

  need(0, 5, 'header');
  if (view.getUint32(0, true) !== ZSTD_MAGIC) throw malformed('not a zstd frame (magic number)');
  const descriptor = view.getUint8(4);
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  if ((descriptor & 0x08) !== 0) throw malformed('zstd frame header has its reserved bit set');
  const hasChecksum = (descriptor & 0x04) !== 0;
  const didFlag = descriptor & 0x03;
  let offset = 5;

  let windowSize = 0;
  if (!singleSegment) {
    need(offset, 1, 'window descriptor');
    const windowDescriptor = view.getUint8(offset);
    offset += 1;
    const windowLog = 10 + (windowDescriptor >> 3);
    const windowBase = 2 ** windowLog;
    windowSize = windowBase + (windowBase / 8) * (windowDescriptor & 0x07);
  }

  const didSize = [0, 1, 2, 4][didFlag]!;
  need(offset, didSize, 'dictionary id');
  let dictionaryId = 0;
  if (didSize === 1) dictionaryId = view.getUint8(offset);
  else if (didSize === 2) dictionaryId = view.getUint16(offset, true);
  else if (didSize === 4) dictionaryId = view.getUint32(offset, true);
  offset += didSize;

  const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
  if (fcsSize === 0) throw malformed('zstd frame does not declare its content size');
  need(offset, fcsSize, 'content size');
  let contentSize: number;
  if (fcsSize === 1) contentSize = view.getUint8(offset);
  else if (fcsSize === 2) contentSize = view.getUint16(offset, true) + 256;
  else if (fcsSize === 4) contentSize = view.getUint32(offset, true);
  else {
    const declared = view.getBigUint64(offset, true);
    if (declared > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('zstd frame content size out of range');
    contentSize = Number(declared);
  }
  offset += fcsSize;
  if (singleSegment) windowSize = contentSize;

  // Blocks: a 3-byte little-endian header each (Last_Block, Block_Type, Block_Size).
  const blockSizeMax = Math.min(windowSize, BLOCK_SIZE_MAX);
  let regeneratedKnown = 0;
  for (;;) {
    need(offset, 3, 'block header');
    const header =
      view.getUint8(offset) | (view.getUint8(offset + 1) << 8) | (view.getUint8(offset + 2) << 16);
    offset += 3;
    const last = (header & 1) === 1;
    const type = (header >> 1) & 0x03;
    const size = header >>> 3;
    if (size > blockSizeMax) throw malformed('zstd block larger than the frame allows');
    if (type === BLOCK_TYPE_RAW || type === BLOCK_TYPE_COMPRESSED) {
      need(offset, size, 'block');
      offset += size;
    } else if (type === BLOCK_TYPE_RLE) {
      need(offset, 1, 'block');
      offset += 1;
    } else {
      throw malformed('zstd block of the reserved type');
    }
    // Raw and RLE blocks regenerate exactly Block_Size bytes: a cheap early check against the
    // declared size (compressed blocks are checked by zstd itself while decoding).
    if (type !== BLOCK_TYPE_COMPRESSED) regeneratedKnown += size;
    if (regeneratedKnown > contentSize) throw malformed('zstd blocks exceed the declared content size');
    if (last) break;
  }
  if (hasChecksum) {
    need(offset, 4, 'checksum');
    offset += 4;
  }
  if (offset !== bytes.length) throw malformed('bytes after the end of the zstd frame');
  return { contentSize, windowSize, dictionaryId, hasChecksum, frameLength: offset };
}

/** ZSTD_compressBound: the largest frame zstd makes from `size` input bytes. */
export function zstdCompressBound(size: number): number {
  const margin = size < 128 * 1024 ? (128 * 1024 - size) >> 11 : 0;
  return size + (size >> 8) + margin;
}
