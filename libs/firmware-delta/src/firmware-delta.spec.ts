import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { firmwareLike, nextRelease, prng } from '../test/firmware-like';
import {
  applyDelta,
  applyVerifiedDelta,
  createDelta,
  encodeImage,
  FirmwareDeltaError,
  HARD_MAX_IMAGE_BYTES,
  isFirmwareDeltaError,
  sha256Hex,
  verifyDeltaResult,
  verifyPrecursor,
  type FirmwareDeltaErrorCode,
} from './index';

const MiB = 1024 * 1024;

function codeOf(run: () => unknown): FirmwareDeltaErrorCode | 'no error' {
  try {
    run();
    return 'no error';
  } catch (error) {
    if (error instanceof FirmwareDeltaError) return error.code;
    throw error;
  }
}

const precursor = firmwareLike(256 * 1024, 1);
const result = nextRelease(precursor, 2);
const patch = createDelta(precursor, result);
const limits = { maxResultBytes: 1 * MiB };

describe('createDelta / applyDelta', () => {
  it('round-trips a release change, far smaller than the compressed full image', () => {
    const applied = applyDelta(precursor, patch, limits);
    expect(Buffer.from(applied).equals(Buffer.from(result))).toBe(true);
    const full = encodeImage('zstd', result);
    // A delta that ignored its precursor would be about as large as the full image.
    expect(patch.length).toBeLessThan(full.length / 10);
  });

  it.each([
    ['empty result', firmwareLike(4096, 3), new Uint8Array(0)],
    ['empty precursor', new Uint8Array(0), firmwareLike(4096, 4)],
    ['one byte each', Uint8Array.of(7), Uint8Array.of(9)],
    ['result much smaller than precursor', firmwareLike(300 * 1024, 5), firmwareLike(2000, 5)],
    ['result much larger than precursor', firmwareLike(2000, 6), firmwareLike(300 * 1024, 6)],
  ])('round-trips %s', (_name, from, to) => {
    const made = createDelta(from, to, { level: 3 });
    expect(Buffer.from(applyDelta(from, made, limits)).equals(Buffer.from(to))).toBe(true);
  });

  it('refuses a corrupted patch with MALFORMED, never a crash', () => {
    const truncated = patch.subarray(0, patch.length - 5);
    const trailing = Buffer.concat([patch, Uint8Array.of(0)]);
    const twoFrames = Buffer.concat([patch, patch]);
    const badMagic = Uint8Array.from(patch);
    badMagic[0] = badMagic[0]! ^ 0xff;
    const reservedBit = Uint8Array.from(patch);
    reservedBit[4] = reservedBit[4]! | 0x08;
    for (const bad of [truncated, trailing, twoFrames, badMagic, reservedBit, new Uint8Array(0)])
      expect(codeOf(() => applyDelta(precursor, bad, limits))).toBe('MALFORMED');
  });

  it('refuses a patch that does not declare its result size (a zstd stream)', () => {
    const streamed = compressWithoutContentSize(result, precursor);
    expect(streamed[4]! & 0xe0).toBe(0); // no content size, not single-segment
    expect(codeOf(() => applyDelta(precursor, streamed, limits))).toBe('MALFORMED');
  });

  it('refuses a patch larger than its bound before decoding it', () => {
    expect(codeOf(() => applyDelta(precursor, patch, { ...limits, maxInputBytes: patch.length - 1 }))).toBe(
      'INPUT_TOO_LARGE',
    );
    // Default bound: the largest frame zstd can make of maxResultBytes.
    const huge = new Uint8Array(2 * MiB);
    expect(codeOf(() => applyDelta(precursor, huge, limits))).toBe('INPUT_TOO_LARGE');
  });

  it('refuses a zip-bomb patch by its declared size, before decoding', () => {
    const bomb = createDelta(precursor, new Uint8Array(64 * MiB), { level: 1 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(codeOf(() => applyDelta(precursor, bomb, limits))).toBe('RESULT_TOO_LARGE');
  });

  it('refuses a patch whose header understates what its blocks decode to', () => {
    // 4 MiB of a repeated pattern in a 1 KiB window: a multi-segment frame, then its declared size
    // rewritten to 1,000 bytes. The decoder must stop at the declared size, not at 4 MiB.
    const big = Buffer.alloc(4 * MiB, 'meter');
    const frame = zlib.zstdCompressSync(big, {
      pledgedSrcSize: big.length,
      params: { [zlib.constants.ZSTD_c_windowLog]: 10, [zlib.constants.ZSTD_c_compressionLevel]: 1 },
    });
    expect(frame[4]! & 0x20).toBe(0); // not single-segment: a window descriptor follows
    expect(frame[4]! >> 6).toBe(2); // 4-byte content size at offset 6
    const lying = Buffer.from(frame);
    lying.writeUInt32LE(1000, 6);
    expect(codeOf(() => applyDelta(precursor, lying, limits))).toBe('MALFORMED');
  });

  it('rejects limits that are not sizes', () => {
    for (const maxResultBytes of [-1, 1.5, Number.NaN, HARD_MAX_IMAGE_BYTES + 1])
      expect(codeOf(() => applyDelta(precursor, patch, { maxResultBytes }))).toBe('INVALID_LIMITS');
  });

  it('refuses a precursor zstd would read as a trained dictionary, on both sides', () => {
    const dictLike = Uint8Array.from(precursor);
    dictLike.set([0x37, 0xa4, 0x30, 0xec], 0);
    expect(codeOf(() => createDelta(dictLike, result))).toBe('PRECURSOR_UNSUPPORTED');
    expect(codeOf(() => applyDelta(dictLike, patch, limits))).toBe('PRECURSOR_UNSUPPORTED');
  });
});

describe('THREAT.UPD.WRONG_PRECURSOR', () => {
  const precursorDigest = sha256Hex(precursor);
  const resultDigest = sha256Hex(result);
  const other = firmwareLike(precursor.length, 99); // another build, same size

  it('a patch applied to the wrong precursor yields bytes whose digest differs', () => {
    const wrong = applyDelta(other, patch, limits);
    expect(wrong.length).toBe(result.length);
    expect(sha256Hex(wrong)).not.toBe(resultDigest);
    expect(codeOf(() => verifyDeltaResult(wrong, resultDigest, result.length))).toBe('DELTA_RESULT_MISMATCH');
  });

  it('a patch applied to a shorter wrong precursor fails or mismatches, never passes', () => {
    const shorter = precursor.subarray(0, 1000);
    let outcome: string;
    try {
      const bytes = applyDelta(shorter, patch, limits);
      outcome = codeOf(() => verifyDeltaResult(bytes, resultDigest, result.length));
    } catch (error) {
      outcome = isFirmwareDeltaError(error) ? error.code : 'crash';
    }
    expect(['MALFORMED', 'DELTA_RESULT_MISMATCH']).toContain(outcome);
  });

  it('suit.precursor.mismatch-refused: the running image is checked before patching', () => {
    expect(codeOf(() => verifyPrecursor(other, precursorDigest))).toBe('PRECURSOR_MISMATCH');
    expect(codeOf(() => verifyPrecursor(precursor, precursorDigest))).toBe('no error');
    expect(codeOf(() => verifyPrecursor(precursor, 'not-a-digest'))).toBe('PRECURSOR_MISMATCH');
    const input = { patch, precursorDigest, resultDigest, resultSize: result.length, maxResultBytes: MiB };
    expect(codeOf(() => applyVerifiedDelta({ ...input, precursor: other }))).toBe('PRECURSOR_MISMATCH');
    expect(Buffer.from(applyVerifiedDelta({ ...input, precursor })).equals(Buffer.from(result))).toBe(true);
  });

  it('the result is checked by size and digest after patching', () => {
    const input = { precursor, patch, precursorDigest, maxResultBytes: MiB };
    const flipped = resultDigest.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(
      codeOf(() => applyVerifiedDelta({ ...input, resultDigest: flipped, resultSize: result.length })),
    ).toBe('DELTA_RESULT_MISMATCH');
    expect(codeOf(() => verifyDeltaResult(result, resultDigest, result.length + 1))).toBe(
      'DELTA_RESULT_MISMATCH',
    );
    // A signed result size smaller than the patch's declared one is refused before decoding.
    expect(codeOf(() => applyVerifiedDelta({ ...input, resultDigest, resultSize: result.length - 1 }))).toBe(
      'RESULT_TOO_LARGE',
    );
  });
});

describe('fuzzed patches', () => {
  it('10,000 mutated patches never throw anything but FirmwareDeltaError, never exceed the cap', () => {
    const from = firmwareLike(16 * 1024, 11);
    const to = nextRelease(from, 12, 300);
    const seeds = [createDelta(from, to, { level: 3 }), createDelta(from, to), createDelta(from, from)];
    const cap = { maxResultBytes: 32 * 1024 };
    const random = prng(2026);
    const pick = (n: number) => Math.floor(random() * n);
    const codes = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const seed = seeds[i % seeds.length]!;
      let bytes = Uint8Array.from(seed);
      switch (i % 6) {
        case 0: // flip a few bits anywhere
          for (let k = 0, n = 1 + pick(4); k < n; k++) bytes[pick(bytes.length)]! ^= 1 << pick(8);
          break;
        case 1: // random bytes in the header
          for (let k = 4; k < Math.min(14, bytes.length); k++) if (random() < 0.5) bytes[k] = pick(256);
          break;
        case 2: // truncate or extend
          bytes =
            random() < 0.5
              ? bytes.subarray(0, pick(bytes.length))
              : Buffer.concat([bytes, Uint8Array.from({ length: 1 + pick(64) }, () => pick(256))]);
          break;
        case 3: // overwrite a run inside the blocks
          for (let k = 0, at = 6 + pick(bytes.length), n = pick(32); k < n && at + k < bytes.length; k++)
            bytes[at + k] = pick(256);
          break;
        case 4: // valid magic, random rest
          bytes = Uint8Array.from({ length: 5 + pick(200) }, () => pick(256));
          bytes.set([0x28, 0xb5, 0x2f, 0xfd], 0);
          break;
        default: // anything at all
          bytes = Uint8Array.from({ length: pick(300) }, () => pick(256));
      }
      try {
        const out = applyDelta(from, bytes, cap);
        expect(out.length).toBeLessThanOrEqual(cap.maxResultBytes);
        codes.set('decoded', (codes.get('decoded') ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof FirmwareDeltaError)) throw error;
        // A cause means libzstd (or Node's output cap) refused it, past the header checks.
        const key = error.cause === undefined ? error.code : `${error.code} from the decoder`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
      }
    }
    if (process.env.FUZZ_REPORT) console.log(Object.fromEntries(codes));
    // Some mutations must reach libzstd (not only the header checks) for the run to mean anything.
    const reachedDecoder = (codes.get('decoded') ?? 0) + (codes.get('MALFORMED from the decoder') ?? 0);
    expect(reachedDecoder).toBeGreaterThan(2000);
    expect(codes.get('MALFORMED from the decoder')).toBeGreaterThan(100);
    expect(codes.get('MALFORMED')).toBeGreaterThan(1000);
  });
});

const zstdCli = (() => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!zstdCli)('interoperability with the zstd CLI (`--patch-from`)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'firmware-delta-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the CLI applies our patch, and we apply the CLI’s', () => {
    writeFileSync(join(dir, 'old'), precursor);
    writeFileSync(join(dir, 'new'), result);
    writeFileSync(join(dir, 'ours.zst'), patch);
    execFileSync(
      'zstd',
      ['-q', '-d', '--patch-from', join(dir, 'old'), join(dir, 'ours.zst'), '-o', join(dir, 'out')],
      {
        stdio: 'ignore',
      },
    );
    expect(readFileSync(join(dir, 'out')).equals(Buffer.from(result))).toBe(true);

    execFileSync(
      'zstd',
      ['-q', '-19', '--patch-from', join(dir, 'old'), join(dir, 'new'), '-o', join(dir, 'cli.zst')],
      {
        stdio: 'ignore',
      },
    );
    const cli = readFileSync(join(dir, 'cli.zst'));
    expect(Buffer.from(applyDelta(precursor, cli, limits)).equals(Buffer.from(result))).toBe(true);
  });
});

/** A zstd frame as a stream writer makes it: no Frame_Content_Size in the header. */
function compressWithoutContentSize(content: Uint8Array, dictionary: Uint8Array): Buffer {
  return zlib.zstdCompressSync(content, {
    dictionary,
    params: { [zlib.constants.ZSTD_c_contentSizeFlag]: 0 },
  });
}
