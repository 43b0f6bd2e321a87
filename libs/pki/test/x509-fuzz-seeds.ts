import { spawnSync } from 'node:child_process';
import { T0, buildPki, forgeCertificate, years } from './fixtures.js';
import type { OpensslWorkspace } from './openssl.js';
import type { Seed } from './x509-fuzz.js';
import { FIXED_CERTIFICATES, FIXED_CSRS } from './x509-fuzz-seeds.data.js';
import { basicConstraintsExtension, extension, keyUsageExtension } from '../src/extensions.js';
import {
  createCsr,
  der,
  exportPrivateKey,
  generateKeyPair,
  importPrivateKey,
  issueCertificate,
} from '../src/index.js';

export interface FuzzSeeds {
  readonly certificateSeeds: readonly Seed[];
  readonly csrSeeds: readonly Seed[];
}

/**
 * Seed certificates (root, factory CA, factory device, server, operational device, and shapes the
 * issuer does not make) and CSRs (libs/pki's and one OpenSSL made, with the test-only keys that re-sign
 * mutated requests), minted afresh. FIXED_SEEDS holds one such set, so `npm test` is reproducible.
 */
function certificateSeeds(): Seed[] {
  const pki = buildPki();
  const key = generateKeyPair();
  const operational = issueCertificate({
    issuer: pki.intermediate,
    profile: 'operational-device',
    subject: { country: 'GB', organization: 'Tenant', commonName: 'MTR-0042', serialNumber: 'SN42' },
    subjectPublicKey: key.publicKey,
    notBefore: T0,
    notAfter: years(T0, 1),
  });
  // Shapes the issuer does not make: SAN with URI and e-mail, an unknown extension, a v3 CA with pathLen.
  const odd = forgeCertificate({
    issuer: pki.intermediate,
    subject: { organization: 'Odd', commonName: 'odd.example' },
    publicKey: key.publicKey,
    notAfter: new Date('2051-01-01T00:00:00Z'),
    extensions: [
      basicConstraintsExtension(true, 3),
      keyUsageExtension(['digitalSignature', 'keyCertSign']),
      extension(
        '2.5.29.17',
        false,
        der.sequence(
          der.implicit(6, Buffer.from('urn:meter:1'), false),
          der.implicit(1, Buffer.from('a@b.example'), false),
          der.implicit(7, Buffer.from([10, 0, 0, 1]), false),
        ),
      ),
      extension('1.3.6.1.4.1.99999.7', false, der.sequence(der.utf8String('x'), der.integer(-5))),
    ],
  });
  return [pki.root.certificate, pki.intermediate.certificate, pki.leaf, pki.server, operational, odd].map(
    (c) => ({ der: c.der }),
  );
}

function csrSeeds(ws: OpensslWorkspace): Seed[] {
  const seeds: Seed[] = [];
  for (const subject of [
    { commonName: 'MTR-0001' },
    { country: 'GB', organization: 'Acme', commonName: 'MTR-2' },
  ]) {
    const { privateKey } = generateKeyPair();
    seeds.push({ der: createCsr({ privateKey, subject }).der, key: privateKey });
  }
  // One OpenSSL made, as an OEM line's device would (its attributes are encoded its way).
  const { privateKey } = generateKeyPair();
  const keyFile = ws.write('seed.key', exportPrivateKey(privateKey, 'pem'));
  const made = ws.run(
    'req',
    '-new',
    '-key',
    keyFile,
    '-subj',
    '/O=OEM/CN=MTR-0003',
    '-outform',
    'DER',
    '-out',
    'seed.der',
  );
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.output}`);
  seeds.push({ der: Buffer.from(spawnSync('cat', [`${ws.dir}/seed.der`]).stdout), key: privateKey });
  return seeds;
}

export function freshSeeds(ws: OpensslWorkspace): FuzzSeeds {
  return { certificateSeeds: certificateSeeds(), csrSeeds: csrSeeds(ws) };
}

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

export const FIXED_SEEDS: FuzzSeeds = {
  certificateSeeds: FIXED_CERTIFICATES.map((c) => ({ der: hex(c) })),
  csrSeeds: FIXED_CSRS.map(({ csr, key }) => ({
    der: hex(csr),
    key: importPrivateKey(hex(key)),
  })),
};
