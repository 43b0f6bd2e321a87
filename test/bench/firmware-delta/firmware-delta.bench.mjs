#!/usr/bin/env node
// Firmware delta size: a `zstd-patch` delta (libs/firmware-delta) for a realistic small release change
// to a firmware-like binary, beside the full image compressed with zstd (what a meter downloads without
// a delta) in the same run. Also the time to create the delta (offline tool) and to apply it (meter),
// beside decoding the full image. Times are medians of --runs.
//
// The image: --size MiB of machine code, the start of the .text section of an ELF (--input; default
// the production Node binary that `npm ci` installs, node_modules/node/bin/node). The next release:
// the version string changed, --functions regions of 200-2,000 bytes rewritten with other code, and
// --insert bytes of code inserted at 30 %, with every x86-64 `call rel32` whose target lies across the
// insertion point re-pointed, as a linker would: later offsets shift and many call sites change.
//
//   node tools/build.mjs && node_modules/.bin/node test/bench/firmware-delta/firmware-delta.bench.mjs \
//     [--input /path/to/elf] [--size 3] [--functions 6] [--insert 3072] [--runs 3] [--level 19]
//
// Ends with exactly one line: `firmware-delta: <bytes> bytes; ratio <r> vs full zstd image`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({
  options: {
    input: { type: 'string', default: join(root, 'node_modules/node/bin/node') },
    size: { type: 'string', default: '3' },
    functions: { type: 'string', default: '6' },
    insert: { type: 'string', default: '3072' },
    runs: { type: 'string', default: '3' },
    level: { type: 'string', default: '19' },
  },
});
const lib = join(root, 'dist/libs/firmware-delta/src/index.js');
if (!existsSync(lib)) {
  console.error(`${lib} not found: run \`node tools/build.mjs\` first`);
  process.exit(2);
}
const { createDelta, applyDelta, encodeImage, decodeImage, sha256Hex, verifyDeltaResult } = createRequire(
  import.meta.url,
)(lib);

const size = Math.round(Number(values.size) * 1024 * 1024);
const functions = Number(values.functions);
const insert = Number(values.insert);
const runs = Number(values.runs);
const level = Number(values.level);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (x) => `${x.toFixed(1)} ms`;

/** The .text section of an ELF64 little-endian file: [offset, size]. */
function textSection(elf) {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1)
    throw new Error('--input must be an ELF64 little-endian file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const section = (i) => {
    const o = shoff + i * shentsize;
    return {
      name: elf.readUInt32LE(o),
      offset: Number(elf.readBigUInt64LE(o + 0x18)),
      size: Number(elf.readBigUInt64LE(o + 0x20)),
    };
  };
  const names = section(elf.readUInt16LE(0x3e));
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const start = names.offset + s.name;
    if (elf.toString('latin1', start, elf.indexOf(0, start)) === '.text') return s;
  }
  throw new Error('no .text section in --input');
}

// A fixed pseudo-random sequence, so every run and every machine with the same input measures the
// same change.
let state = 0x9e3779b9;
const random = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
};

const elf = readFileSync(values.input);
const text = textSection(elf);
if (text.size < size * 2) throw new Error(`.text of --input has ${text.size} bytes; need ${size * 2}`);
const otherCode = (length) => {
  const at = text.offset + size + Math.floor(random() * (text.size - size - length));
  return elf.subarray(at, at + length);
};
const VERSION_AT = 4096;
const precursor = Buffer.from(elf.subarray(text.offset, text.offset + size));
precursor.write('METERKEEP-FW 1.4.2 (build 2026-11-01)', VERSION_AT, 'latin1');

const changed = Buffer.from(precursor);
changed.write('METERKEEP-FW 1.4.3 (build 2026-12-02)', VERSION_AT, 'latin1');
for (let k = 0; k < functions; k++) {
  const length = 200 + Math.floor(random() * 1800);
  const at = VERSION_AT + 64 + Math.floor(random() * (size - length - VERSION_AT - 64));
  otherCode(length).copy(changed, at);
}
const insertAt = Math.floor(size * 0.3);
let repointed = 0;
for (let i = 0; i + 5 <= changed.length; i++) {
  if (changed[i] !== 0xe8) continue;
  const rel = changed.readInt32LE(i + 1);
  const target = i + 5 + rel;
  if (target < 0 || target >= changed.length || i < insertAt === target < insertAt) continue;
  changed.writeInt32LE(rel + (i < insertAt ? insert : -insert), i + 1);
  repointed++;
}
const result = Buffer.concat([changed.subarray(0, insertAt), otherCode(insert), changed.subarray(insertAt)]);
const resultDigest = sha256Hex(result);

console.log(
  `image: ${kib(precursor.length)} of .text from ${values.input} (${kib(statSync(values.input).size)})`,
);
console.log(
  `change: version string, ${functions} functions rewritten, ${insert} bytes inserted at 30 %, ` +
    `${repointed} call sites re-pointed; result ${kib(result.length)}`,
);

const limits = { maxResultBytes: 32 * 1024 * 1024 };
const samples = { full: [], create: [], decodeFull: [], apply: [] };
let full;
let patch;
for (let run = 1; run <= runs; run++) {
  let t = performance.now();
  full = encodeImage('zstd', result, { level });
  samples.full.push(performance.now() - t);

  t = performance.now();
  patch = createDelta(precursor, result, { level });
  samples.create.push(performance.now() - t);

  t = performance.now();
  const decoded = decodeImage('zstd', full, limits);
  samples.decodeFull.push(performance.now() - t);

  t = performance.now();
  const applied = applyDelta(precursor, patch, limits);
  samples.apply.push(performance.now() - t);

  verifyDeltaResult(applied, resultDigest, result.length);
  if (createHash('sha256').update(decoded).digest('hex') !== resultDigest)
    throw new Error('full image differs');
  console.log(
    `run ${run}: full zstd ${full.length} B in ${ms(samples.full.at(-1))}, decode ${ms(samples.decodeFull.at(-1))}; ` +
      `delta ${patch.length} B in ${ms(samples.create.at(-1))}, apply ${ms(samples.apply.at(-1))}`,
  );
}

console.log(`raw image:            ${result.length} B`);
console.log(
  `full zstd (level ${level}): ${full.length} B (${kib(full.length)}), encode ${ms(median(samples.full))}, decode ${ms(median(samples.decodeFull))}`,
);
console.log(
  `zstd-patch delta:     ${patch.length} B (${kib(patch.length)}), create ${ms(median(samples.create))}, apply ${ms(median(samples.apply))}`,
);

// For reference only: the same change through the classic tools, when the machine has them.
const dir = mkdtempSync(join(tmpdir(), 'meterkeep-delta-bench-'));
try {
  writeFileSync(join(dir, 'old'), precursor);
  writeFileSync(join(dir, 'new'), result);
  const tool = (name, args, out) => {
    try {
      const t = performance.now();
      execFileSync(name, args, { stdio: 'ignore' });
      return `${statSync(join(dir, out)).size} B in ${ms(performance.now() - t)}`;
    } catch {
      return 'not installed';
    }
  };
  console.log(
    `reference bsdiff 4.3:  ${tool('bsdiff', [join(dir, 'old'), join(dir, 'new'), join(dir, 'p.bsdiff')], 'p.bsdiff')}`,
  );
  console.log(
    `reference xdelta3 -9:  ${tool('xdelta3', ['-e', '-9', '-f', '-s', join(dir, 'old'), join(dir, 'new'), join(dir, 'p.vcdiff')], 'p.vcdiff')}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  `firmware-delta: ${patch.length} bytes; ratio ${(patch.length / full.length).toFixed(4)} vs full zstd image`,
);
