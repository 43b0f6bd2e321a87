/**
 * Deterministic firmware-like bytes for unit tests: "functions" drawn from a small pool of opcode-ish
 * patterns, literal tables and strings, so they compress as code does (about 2-3x), and a release
 * change that edits a few functions, inserts bytes (shifting every later offset) and bumps the
 * version string.
 */
export function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

export const VERSION_OFFSET = 256;

export function firmwareLike(size: number, seed = 1, version = 'METERKEEP-FW 1.4.2'): Uint8Array {
  const random = prng(seed);
  const out = new Uint8Array(size);
  const patterns = Array.from({ length: 64 }, () =>
    Uint8Array.from({ length: 4 + Math.floor(random() * 12) }, () => Math.floor(random() * 256)),
  );
  let at = 0;
  while (at < size) {
    if (random() < 0.8) {
      const pattern = patterns[Math.floor(random() * patterns.length)]!;
      out.set(pattern.subarray(0, Math.min(pattern.length, size - at)), at);
      at += pattern.length;
    } else {
      out[at] = Math.floor(random() * 256);
      at += 1;
    }
  }
  if (size >= VERSION_OFFSET + 32) out.set(new TextEncoder().encode(version), VERSION_OFFSET);
  return out;
}

/** The next release: a few functions rewritten, `insert` new bytes at 30 %, a new version string. */
export function nextRelease(image: Uint8Array, seed = 2, insert = 1000): Uint8Array {
  const random = prng(seed);
  const changed = Uint8Array.from(image);
  for (let k = 0; k < 4; k++) {
    const length = 100 + Math.floor(random() * 400);
    const at = Math.floor(random() * Math.max(1, changed.length - length));
    for (let i = 0; i < length && at + i < changed.length; i++) changed[at + i] = Math.floor(random() * 256);
  }
  if (changed.length >= VERSION_OFFSET + 32)
    changed.set(new TextEncoder().encode('METERKEEP-FW 1.4.3'), VERSION_OFFSET);
  const insertAt = Math.floor(changed.length * 0.3);
  const inserted = Uint8Array.from({ length: insert }, () => Math.floor(random() * 256));
  const out = new Uint8Array(changed.length + insert);
  out.set(changed.subarray(0, insertAt), 0);
  out.set(inserted, insertAt);
  out.set(changed.subarray(insertAt), insertAt + insert);
  return out;
}
