// Hostile certificates against a plain one: how long `parseCertificate` and `readOid` spend refusing
// (or skipping) what an attacker sends before any trust decision. Replaces the timed unit tests.
//   node tools/build.mjs && node_modules/.bin/node test/bench/pki-limits/pki-limits.bench.mjs [--runs 201]
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { sign } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '201' } } });
const lib = join(root, 'dist/libs/pki/src/index.js');
if (!existsSync(lib)) {
  console.error(`${lib} not found: run \`node tools/build.mjs\` first`);
  process.exit(2);
}
const { der, encodeName, generateKeyPair, parseCertificate, spkiOf } = createRequire(import.meta.url)(lib);
const runs = Number(values.runs);

const key = generateKeyPair();
function selfSigned({ subject = encodeName({ commonName: 'meter-0001' }), extensions = [] } = {}) {
  const algorithm = der.sequence(der.oid('1.2.840.10045.4.3.2'));
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(1),
    algorithm,
    subject,
    der.sequence(der.time(new Date('2025-01-01Z')), der.time(new Date('2030-01-01Z'))),
    subject,
    spkiOf(key.publicKey),
    ...(extensions.length ? [der.explicit(3, der.sequence(...extensions))] : []),
  );
  return der.sequence(tbs, algorithm, der.bitString(sign('sha256', tbs, key.privateKey)));
}
/** An OID whose second arc takes `octets` bytes: the slow-decoding attack (466 ms before the bound). */
function longArcOid(octets) {
  const arc = Buffer.alloc(octets, 0xff);
  arc[octets - 1] = 0x7f;
  return der.tlv(der.TAG.OID, Buffer.concat([Buffer.from([0x2a]), arc]));
}
const opaque = (id, value = der.nullValue()) => der.sequence(id, der.octetString(value));
let nested = der.nullValue();
for (let i = 0; i < 2_000; i++) nested = der.sequence(nested);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const parse = (certificate) => parseCertificate(certificate);
// [name, input, what parses it]: inputs are built once, the parse alone is timed.
const cases = [
  ['plain certificate (baseline)', selfSigned(), parse],
  ['60 KB OID in an extension', selfSigned({ extensions: [opaque(longArcOid(60_000))] }), parse],
  ['60 KB OID, readOid alone', longArcOid(60_000), (oid) => der.readOid(der.decodeDer(oid))],
  [
    '2,000 nested SEQUENCEs in an extension',
    selfSigned({ extensions: [opaque(der.oid('1.3.6.1.4.1.99999.1'), nested)] }),
    parse,
  ],
];
const medians = cases.map(([name, input, read]) => {
  const times = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    try {
      read(input);
    } catch {
      // refused: the refusal is what is timed
    }
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const ms = median(times);
  console.log(`${name.padEnd(40)} ${String(input.length).padStart(7)} B  median ${ms.toFixed(3)} ms`);
  return ms;
});
const worst = Math.max(...medians.slice(1));
console.log(
  `pki-limits: ${worst.toFixed(3)} ms; ratio ${(worst / medians[0]).toFixed(2)} vs plain certificate parse`,
);
