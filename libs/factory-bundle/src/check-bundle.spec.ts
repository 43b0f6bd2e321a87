import {
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
  publicKeyToPem,
  spkiOf,
  toPem,
} from '@meterkeep/pki';
import { describe, expect, it } from 'vitest';
import { AT, T0, manufacturer, validBundle } from '../test/fixtures.js';
import {
  type FactoryBundle,
  BundleChecker,
  BundleError,
  addYears,
  checkBundle,
  inspectBundle,
} from './index.js';

const m = manufacturer();
const other = manufacturer('Other Meters');
const options = { manufacturerRootPem: m.root.certificate.pem, at: AT, requiredParameters: ['tariff'] };
const codes = (bundle: FactoryBundle, opts = options) => checkBundle(bundle, opts).map((f) => f.code);

type CertCredential = Extract<FactoryBundle['credential'], { keyLocation: 'bundle' }>;
function withCredential(bundle: FactoryBundle, patch: Partial<CertCredential>): FactoryBundle {
  return { ...bundle, credential: { ...(bundle.credential as CertCredential), ...patch } };
}
const cred = (bundle: FactoryBundle) => bundle.credential as CertCredential;

/** Flips one base64 character in the middle of a PEM body (keeping it valid base64). */
function corruptPem(pem: string): string {
  const i = Math.floor(pem.length / 2);
  const c = pem[i] === 'A' ? 'B' : 'A';
  return pem.slice(0, i) + c + pem.slice(i + 1);
}

describe('checkBundle', () => {
  const good = validBundle(m);

  it('finds nothing wrong with a complete bundle', () => {
    expect(checkBundle(good, options)).toEqual([]);
  });

  it('reports a certificate that chains to another manufacturer', () => {
    expect(codes(validBundle(other))).toEqual(['CHAIN_INVALID']);
  });

  it('reports a corrupted certificate', () => {
    const failures = codes(withCredential(good, { certificatePem: corruptPem(cred(good).certificatePem) }));
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.some((c) => c === 'CERTIFICATE_MALFORMED' || c === 'CHAIN_INVALID')).toBe(true);
  });

  it('reports a private key that does not belong to the certificate', () => {
    const privateKeyPem = exportPrivateKey(generateKeyPair().privateKey, 'pem') as string;
    expect(codes(withCredential(good, { privateKeyPem }))).toEqual(['KEY_MISMATCH']);
    expect(codes(withCredential(good, { privateKeyPem: corruptPem(privateKeyPem) }))).toContain(
      'PRIVATE_KEY_MALFORMED',
    );
  });

  it('reports validity shorter than the expected life, and a chain that expires first', () => {
    expect(codes(validBundle(m, { certYears: 10, lifeYears: 15 }))).toEqual(['LIFETIME_NOT_COVERED']);
    // The intermediate lives 30 years: a 35-year meter outlives it even with a long leaf.
    const failures = checkBundle({ ...good, expectedLifeYears: 35 }, options).filter(
      (f) => f.code === 'LIFETIME_NOT_COVERED',
    );
    expect(failures.map((f) => f.message).join('\n')).toMatch(/certificate expires[\s\S]*Factory CA/);
  });

  it('reports a missing required parameter', () => {
    const failures = checkBundle({ ...good, customParameters: { region: 'north' } }, options);
    expect(failures).toEqual([{ code: 'PARAMETER_MISSING', message: 'custom parameter tariff is missing' }]);
  });

  it("reports a CN or serial that is not the bundle's", () => {
    expect(codes({ ...good, endpointName: 'EM300-000002' })).toEqual(['SUBJECT_MISMATCH']);
    expect(codes({ ...good, serialNumber: '4a1b2c3d4e5f60710000000000000002' })).toEqual(['SERIAL_MISMATCH']);
  });

  it('reports a chain that is not the path to the root', () => {
    expect(codes(withCredential(good, { chainPem: [m.intermediate.certificate.pem] }))).toEqual([
      'CHAIN_INCOMPLETE',
    ]);
    expect(codes(withCredential(good, { chainPem: [m.root.certificate.pem] }))).toEqual(['CHAIN_INVALID']);
    expect(
      codes(
        withCredential(good, {
          chainPem: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'],
        }),
      ),
    ).toEqual(['CHAIN_MALFORMED']);
  });

  it('requires clientAuth on the factory certificate', () => {
    const key = generateKeyPair();
    const server = issueCertificate({
      issuer: m.intermediate,
      profile: 'server',
      subject: { commonName: good.endpointName },
      sans: { dns: ['meter.example'] },
      subjectPublicKey: key.publicKey,
      serial: Buffer.from(good.serialNumber, 'hex'),
      notBefore: T0,
      notAfter: addYears(T0, 16),
    });
    const bundle = withCredential(good, {
      certificatePem: server.pem,
      privateKeyPem: exportPrivateKey(key.privateKey, 'pem') as string,
    });
    expect(
      checkBundle(bundle, options)
        .map((f) => f.message)
        .join(),
    ).toContain('EXTENDED_KEY_USAGE');
  });

  it('reports an unusable trust anchor or update key', () => {
    const bundle = {
      ...good,
      bootstrap: {
        ...good.bootstrap,
        trustAnchorPem: toPem(m.bootstrapCa.certificate.der.subarray(0, 120), 'CERTIFICATE'),
      },
      updateAuthorityPublicKeyPem: publicKeyToPem(
        Buffer.from(spkiOf(generateKeyPair().publicKey)).subarray(0, 80),
      ),
    };
    expect(codes(bundle).sort()).toEqual(['TRUST_ANCHOR_MALFORMED', 'UPDATE_KEY_MALFORMED']);
  });

  it('checks a device-key bundle without a private key, and a PSK bundle without a chain', () => {
    const { privateKeyPem: _key, ...device } = cred(good);
    expect(codes({ ...good, credential: { ...device, keyLocation: 'device' } })).toEqual([]);
    const psk: FactoryBundle = {
      ...good,
      credential: {
        kind: 'psk',
        pskIdentity: good.endpointName,
        pskBase64: Buffer.alloc(32, 1).toString('base64'),
      },
    };
    expect(codes(psk)).toEqual([]);
  });

  it('judges the chain at the given instant', () => {
    expect(codes(good, { ...options, at: addYears(T0, 17) })).toContain('CHAIN_INVALID');
  });

  it('inspects raw text: unreadable bundles are failures, not exceptions', () => {
    const checker = new BundleChecker(options);
    const text = JSON.stringify(good);
    expect(checker.inspect(text)).toEqual({ bundle: good, failures: [] });
    const truncated = inspectBundle(text.slice(0, 300), options);
    expect(truncated.bundle).toBeUndefined();
    expect(truncated.failures.map((f) => f.code)).toEqual(['BUNDLE_UNREADABLE']);
  });

  it('refuses a manufacturer root that is not a certificate', () => {
    expect(() => new BundleChecker({ ...options, manufacturerRootPem: 'nope' })).toThrow(BundleError);
  });
});
