import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { prng } from '../test/firmware-like';
import { FirmwareDeltaError } from './firmware-delta.errors';
import { readZstdFrame, zstdCompressBound } from './zstd-frame';

describe('readZstdFrame', () => {
  it('reads the declared content size and window of single- and multi-segment frames', () => {
    const small = zlib.zstdCompressSync(Buffer.alloc(300, 1));
    expect(readZstdFrame(small)).toMatchObject({ contentSize: 300, windowSize: 300, dictionaryId: 0 });
    expect(readZstdFrame(small).frameLength).toBe(small.length);

    const content = Buffer.alloc(100_000, 'abc');
    const windowed = zlib.zstdCompressSync(content, {
      pledgedSrcSize: content.length,
      params: { [zlib.constants.ZSTD_c_windowLog]: 12, [zlib.constants.ZSTD_c_checksumFlag]: 1 },
    });
    expect(readZstdFrame(windowed)).toMatchObject({
      contentSize: 100_000,
      windowSize: 4096,
      hasChecksum: true,
    });
  });

  it('refuses skippable frames and the reserved block type', () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
    expect(() => readZstdFrame(skippable)).toThrow(FirmwareDeltaError);
    const frame = Buffer.from(zlib.zstdCompressSync(Buffer.alloc(300, 1)));
    // Header: magic (4), descriptor (1), 2-byte content size for 300 bytes; then the block header.
    const blockAt = 4 + 1 + 2;
    frame[blockAt] = frame[blockAt]! | 0x06;
    expect(() => readZstdFrame(frame)).toThrow(/reserved type/);
  });
});

describe('zstdCompressBound', () => {
  it('holds for incompressible input of several sizes', () => {
    const random = prng(7);
    for (const size of [0, 1, 1000, 128 * 1024, 300_000]) {
      const noise = Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
      expect(zlib.zstdCompressSync(noise).length).toBeLessThanOrEqual(zstdCompressBound(size));
    }
  });
});
