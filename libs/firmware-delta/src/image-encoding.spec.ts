import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { firmwareLike } from '../test/firmware-like';
import {
  decodeImage,
  encodeImage,
  FirmwareDeltaError,
  type FirmwareDeltaErrorCode,
  type ImageFormat,
  readZstdFrame,
} from './index';

const MiB = 1024 * 1024;
const image = firmwareLike(200 * 1024, 21);
const limits = { maxResultBytes: MiB };

function codeOf(run: () => unknown): FirmwareDeltaErrorCode | 'no error' {
  try {
    run();
    return 'no error';
  } catch (error) {
    if (error instanceof FirmwareDeltaError) return error.code;
    throw error;
  }
}

describe('encodeImage / decodeImage', () => {
  it('round-trips raw and zstd; zstd is smaller and declares its size', () => {
    for (const format of ['raw', 'zstd'] as const) {
      const encoded = encodeImage(format, image);
      expect(Buffer.from(decodeImage(format, encoded, limits)).equals(Buffer.from(image))).toBe(true);
    }
    const zstd = encodeImage('zstd', image);
    expect(zstd.length).toBeLessThan(image.length * 0.8);
    expect(readZstdFrame(zstd).contentSize).toBe(image.length);
  });

  it('refuses a raw image beyond the cap', () => {
    expect(codeOf(() => decodeImage('raw', image, { maxResultBytes: image.length - 1 }))).toBe(
      'RESULT_TOO_LARGE',
    );
    expect(codeOf(() => decodeImage('raw', image, { maxResultBytes: image.length }))).toBe('no error');
  });

  it('refuses a zstd bomb by its declared size, and an image larger than its bound', () => {
    const bomb = encodeImage('zstd', new Uint8Array(64 * MiB), { level: 1 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(codeOf(() => decodeImage('zstd', bomb, limits))).toBe('RESULT_TOO_LARGE');
    const zstd = encodeImage('zstd', image);
    expect(codeOf(() => decodeImage('zstd', zstd, { ...limits, maxInputBytes: zstd.length - 1 }))).toBe(
      'INPUT_TOO_LARGE',
    );
  });

  it('refuses trailing bytes, a second frame and a frame without its size (THREAT.IMG.EXTRA)', () => {
    const zstd = encodeImage('zstd', image);
    const noSize = zlib.zstdCompressSync(image, { params: { [zlib.constants.ZSTD_c_contentSizeFlag]: 0 } });
    for (const bad of [Buffer.concat([zstd, Uint8Array.of(0)]), Buffer.concat([zstd, zstd]), noSize])
      expect(codeOf(() => decodeImage('zstd', bad, limits))).toBe('MALFORMED');
  });

  it('decodes only the listed formats (THREAT.IMG.FORMAT)', () => {
    for (const format of ['zstd-patch', 'bsdiff-zstd', 'gzip', '', 'ZSTD'])
      expect(codeOf(() => decodeImage(format as ImageFormat, image, limits))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => encodeImage('gzip' as ImageFormat, image))).toBe('FORMAT_UNSUPPORTED');
  });
});
