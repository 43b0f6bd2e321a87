import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { T0, buildPki, errorCode, flipByte, years } from '../test/fixtures.js';
import { bitString, implicit, integer, nullValue, oid, sequence, setOf, utf8String } from './der/index.js';
import { createCsr, encodeName, generateKeyPair, issueFromCsr, parseCsr, validateChain } from './index.js';

const pki = buildPki();
const window = { notBefore: T0, notAfter: years(T0, 1) };

/** A CSR built by hand, for keys, algorithms and subjects createCsr refuses to produce. */
function foreignCsr(kind: 'p256' | 'p384' | 'rsa', name = encodeName({ commonName: 'meter-0001' })): Buffer {
  const { privateKey, publicKey } =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 1024 })
      : generateKeyPairSync('ec', { namedCurve: kind === 'p256' ? 'prime256v1' : 'secp384r1' });
  const info = sequence(
    integer(0),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    implicit(0, Buffer.alloc(0), true),
  );
  const algorithm =
    kind === 'rsa'
      ? sequence(oid('1.2.840.113549.1.1.11'), nullValue())
      : sequence(oid('1.2.840.10045.4.3.2'));
  return sequence(info, algorithm, bitString(sign('sha256', info, { key: privateKey, dsaEncoding: 'der' })));
}

describe('CSR', () => {
  it('creates a PKCS#10 request that parses back and verifies', () => {
    const { privateKey, publicKey } = generateKeyPair();
    const csr = createCsr({ privateKey, subject: { commonName: 'meter-0001', organization: 'Acme Meters' } });
    const parsed = parseCsr(csr.pem);
    expect(parsed.der.equals(csr.der)).toBe(true);
    expect(parsed.subject.commonName).toBe('meter-0001');
    expect(parsed.subject.get('O')).toBe('Acme Meters');
    expect(parsed.spki.equals(publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(parseCsr(csr.der).pem).toBe(csr.pem);
  });

  it('CSR_BAD_SIGNATURE when a byte of the signature or of the signed info is flipped', () => {
    const csr = createCsr({
      privateKey: generateKeyPair().privateKey,
      subject: { commonName: 'meter-0001' },
    });
    expect(errorCode(() => parseCsr(flipByte(csr.der, -1)))).toBe('CSR_BAD_SIGNATURE');
    const cnOffset = csr.der.indexOf(Buffer.from('meter-0001'));
    expect(errorCode(() => parseCsr(flipByte(csr.der, cnOffset)))).toBe('CSR_BAD_SIGNATURE');
  });

  it('KEY_MISMATCH when createCsr is given a public key that is not the private key’s', () => {
    expect(
      errorCode(() =>
        createCsr({
          privateKey: generateKeyPair().privateKey,
          publicKey: generateKeyPair().publicKey,
          subject: { commonName: 'm' },
        }),
      ),
    ).toBe('KEY_MISMATCH');
  });

  it('UNSUPPORTED_KEY for a P-384 or RSA request', () => {
    expect(errorCode(() => parseCsr(foreignCsr('p384')))).toBe('UNSUPPORTED_KEY');
    expect(errorCode(() => parseCsr(foreignCsr('rsa')))).toBe('UNSUPPORTED_KEY');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(errorCode(() => createCsr({ privateKey: p384.privateKey, subject: { commonName: 'm' } }))).toBe(
      'UNSUPPORTED_KEY',
    );
    expect(
      errorCode(() =>
        issueFromCsr({
          issuer: pki.intermediate,
          csr: foreignCsr('p384'),
          profile: 'factory-device',
          expectedCommonName: 'meter-0001',
          ...window,
        }),
      ),
    ).toBe('UNSUPPORTED_KEY');
  });

  it('MALFORMED for garbage and for the wrong PEM label', () => {
    expect(errorCode(() => parseCsr(Buffer.from('3000', 'hex')))).toBe('MALFORMED');
    expect(errorCode(() => parseCsr(pki.leaf.pem))).toBe('MALFORMED');
  });
});

describe('issueFromCsr', () => {
  const meter = generateKeyPair();
  const csr = createCsr({ ...meter, subject: { commonName: 'meter-0042', organization: 'Ignored By CA' } });

  it('issues an operational certificate for the CSR key, CN from the CSR, other attributes from the CA', () => {
    const cert = issueFromCsr({
      issuer: pki.intermediate,
      csr: csr.pem,
      expectedCommonName: 'meter-0042',
      profile: 'operational-device',
      subject: { organization: 'Tenant A' },
      ...window,
    });
    expect(cert.subject.toString()).toBe('O=Tenant A, CN=meter-0042');
    expect(cert.spki.equals(csr.spki)).toBe(true);
    expect(cert.extensions.extKeyUsage).toEqual(['clientAuth']);
    expect(() =>
      validateChain({
        leaf: cert,
        intermediates: [pki.intermediate.certificate],
        trustAnchors: [pki.root.certificate],
        at: T0,
        requiredEku: 'clientAuth',
      }),
    ).not.toThrow();
  });

  it('reuses the key imported while verifying the CSR', () => {
    const parsed = parseCsr(csr.der);
    const cert = issueFromCsr({
      issuer: pki.intermediate,
      csr: parsed,
      expectedCommonName: 'meter-0042',
      profile: 'factory-device',
      ...window,
    });
    expect(cert.publicKey).toBe(parsed.publicKey);
  });

  it('CSR_SUBJECT_MISMATCH when the CN is not the endpoint name', () => {
    const issue = (expectedCommonName: string) => () =>
      issueFromCsr({
        issuer: pki.intermediate,
        csr,
        expectedCommonName,
        profile: 'factory-device',
        ...window,
      });
    expect(errorCode(issue('meter-0043'))).toBe('CSR_SUBJECT_MISMATCH');
    expect(errorCode(issue('METER-0042'))).toBe('CSR_SUBJECT_MISMATCH');
    expect(issue('meter-0042')).not.toThrow();
    const cn = (value: string) => setOf([sequence(oid('2.5.4.3'), utf8String(value))]);
    const twoCns = foreignCsr('p256', sequence(cn('meter-0042'), cn('meter-0666')));
    expect(parseCsr(twoCns).subject.commonName).toBe('meter-0042');
    expect(
      errorCode(() =>
        issueFromCsr({
          issuer: pki.intermediate,
          csr: twoCns,
          expectedCommonName: 'meter-0042',
          profile: 'factory-device',
          ...window,
        }),
      ),
    ).toBe('CSR_SUBJECT_MISMATCH');
    const noCn = createCsr({ ...meter, subject: { organization: 'x' } });
    expect(
      errorCode(() =>
        issueFromCsr({
          issuer: pki.intermediate,
          csr: noCn,
          expectedCommonName: 'meter-0042',
          profile: 'factory-device',
          ...window,
        }),
      ),
    ).toBe('CSR_SUBJECT_MISMATCH');
  });

  it('device profiles require the endpoint name to be pinned', () => {
    expect(
      errorCode(() =>
        issueFromCsr({ issuer: pki.intermediate, csr, profile: 'operational-device', ...window }),
      ),
    ).toBe('INVALID_ARGUMENT');
  });

  it('CSR_BAD_SIGNATURE when the CSR was tampered with', () => {
    expect(
      errorCode(() =>
        issueFromCsr({
          issuer: pki.intermediate,
          csr: flipByte(csr.der, -1),
          expectedCommonName: 'meter-0042',
          profile: 'factory-device',
          ...window,
        }),
      ),
    ).toBe('CSR_BAD_SIGNATURE');
  });
});
