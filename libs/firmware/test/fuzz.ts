// Random and mutated inputs for the verifiers' fuzz tests; deterministic, so a failure replays.

/** Deterministic PRNG (mulberry32): a failure replays from its seed. */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  -1,
  1.5,
  2 ** 53,
  2 ** 64,
  1e308,
  -1e308,
  '',
  'x'.repeat(600),
  '\u0000',
  '\ud800',
  '__proto__',
  'constructor',
  [],
  [[[[[]]]]],
  {},
  { __proto__: { polluted: true } },
  'ES256',
  'none',
  'raw',
  'lz4',
  ['app'],
  ['app', 'modem'],
  'A'.repeat(64),
  '2026-13-40T25:61:61Z',
  '9999-12-31T23:59:59Z',
];

/** Changes the JSON at one random place (a random walk down from the root), so every output differs. */
export function mutateJson(value: unknown, random: () => number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  if (Array.isArray(value) && value.length > 0 && random() < 0.75) {
    const items = value as unknown[];
    const i = Math.floor(random() * value.length);
    return items.map((v, j) => (j === i ? mutateJson(v, random) : v));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length > 0 && random() < 0.75) {
      const key = pick(keys);
      copy[key] = mutateJson(copy[key], random);
      return copy;
    }
    if (random() < 0.5 || keys.length === 0) {
      // defineProperty, so "__proto__" becomes a member as JSON.parse would make it.
      Object.defineProperty(
        copy,
        pick(['extra', '__proto__', 'installNow', 'x5u', ...keys.map((k) => `${k} `)]),
        {
          value: pick(WEIRD),
          enumerable: true,
          writable: true,
          configurable: true,
        },
      );
    } else {
      delete copy[pick(keys)];
    }
    return copy;
  }
  if (Array.isArray(value)) return random() < 0.5 ? [...value, pick(WEIRD)] : [...value, ...value, ...value];
  if (typeof value === 'string' && value.length > 0 && random() < 0.5) {
    const i = Math.floor(random() * value.length);
    const replacement = String.fromCharCode(Math.floor(random() * 0x300));
    const changed = value.slice(0, i) + replacement + value.slice(i + 1);
    return changed === value ? `${value}x` : changed;
  }
  if (typeof value === 'number' && random() < 0.5)
    return pick([value + 1, value - 1, -value - 1, value * 2 ** 40 + 1]);
  const other = pick(WEIRD);
  return Object.is(other, value) ? [value] : other;
}

export function mutateBytes(bytes: Buffer, random: () => number): Buffer {
  const out = Buffer.from(bytes);
  const r = random();
  if (r < 0.3) {
    for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
      out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
    }
    return out;
  }
  if (r < 0.5) return out.subarray(0, Math.floor(random() * out.length));
  if (r < 0.6) return Buffer.concat([out, Buffer.from(' '.repeat(Math.floor(random() * 70_000)))]);
  if (r < 0.7) {
    const at = Math.floor(random() * out.length);
    return Buffer.concat([
      out.subarray(0, at),
      Buffer.from(String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(random() * 128)))),
      out.subarray(at),
    ]);
  }
  if (r < 0.8)
    return Buffer.from(Array.from({ length: Math.floor(random() * 512) }, () => Math.floor(random() * 256)));
  // Deep nesting and duplicate keys, which JSON.parse accepts.
  if (r < 0.9) return Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`);
  const text = out.toString('utf8');
  return Buffer.from(text.replace('"sequenceNumber":', '"sequenceNumber":99999,"sequenceNumber":'));
}
