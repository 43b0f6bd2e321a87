import { describe, expect, it } from 'vitest';
import { AT, T0, buildPki, errorCode, flipByte, forgeCertificate, years } from '../test/fixtures.js';
import {
  basicConstraintsExtension,
  extKeyUsageExtension,
  extension,
  keyUsageExtension,
} from './extensions.js';
import { createIssuer, uncheckedIssuer } from './issuer.js';
import {
  type Certificate,
  type ValidateChainOptions,
  createIntermediateCa,
  createRootCa,
  der,
  generateKeyPair,
  issueCertificate,
  issueCrl,
  parseCertificate,
  validateChain,
} from './index.js';

const pki = buildPki('meter-0001');
const ok = (): ValidateChainOptions => ({
  leaf: pki.leaf,
  intermediates: [pki.intermediate.certificate],
  trustAnchors: [pki.root.certificate],
  at: AT,
  requiredEku: 'clientAuth',
});
const codeOf = (options: Partial<ValidateChainOptions>): string =>
  errorCode(() => validateChain({ ...ok(), ...options }));

function device(
  issuer: Parameters<typeof issueCertificate>[0]['issuer'],
  commonName = 'meter-x',
): Certificate {
  return issueCertificate({
    issuer,
    profile: 'factory-device',
    subject: { commonName },
    subjectPublicKey: generateKeyPair().publicKey,
    notBefore: T0,
    notAfter: years(T0, 5),
  });
}

describe('validateChain', () => {
  it('accepts root -> intermediate -> factory-device leaf and returns the path', () => {
    const { path, trustAnchor } = validateChain(ok());
    expect(path.map((c) => c.subject.commonName)).toEqual([
      'meter-0001',
      'Meterkeep Test Factory CA',
      'Meterkeep Test Root',
    ]);
    expect(trustAnchor).toBe(pki.root.certificate);
  });

  it('accepts intermediates in any order, with extras', () => {
    const other = createIntermediateCa(pki.root, {
      subject: { commonName: 'Other CA' },
      validity: { notBefore: T0, notAfter: years(T0, 5) },
    });
    expect(() =>
      validateChain({ ...ok(), intermediates: [other.certificate, pki.intermediate.certificate] }),
    ).not.toThrow();
  });

  it('EXPIRED after the leaf notAfter, valid the second before', () => {
    const notAfter = pki.leaf.notAfter;
    expect(() => validateChain({ ...ok(), at: notAfter })).not.toThrow();
    expect(codeOf({ at: new Date(notAfter.getTime() + 1000) })).toBe('EXPIRED');
  });

  it('EXPIRED when an intermediate has expired even though the clock is inside the leaf window', () => {
    const shortCa = createIntermediateCa(pki.root, {
      subject: { commonName: 'Short CA' },
      validity: { notBefore: T0, notAfter: years(T0, 1) },
      pathLen: 0,
    });
    const leaf = issueCertificate({
      issuer: shortCa,
      profile: 'factory-device',
      subject: { commonName: 'meter-short' },
      subjectPublicKey: generateKeyPair().publicKey,
      notBefore: T0,
      notAfter: years(T0, 1),
    });
    const options = { leaf, intermediates: [shortCa.certificate] };
    expect(() => validateChain({ ...ok(), ...options, at: new Date('2025-06-01T00:00:00Z') })).not.toThrow();
    expect(codeOf({ ...options, at: new Date('2026-01-02T00:00:00Z') })).toBe('EXPIRED');
  });

  it('NOT_YET_VALID before notBefore', () => {
    expect(codeOf({ at: new Date(T0.getTime() - 1000) })).toBe('NOT_YET_VALID');
    expect(() => validateChain({ ...ok(), at: T0 })).not.toThrow();
  });

  it('WRONG_ISSUER when the leaf names an issuer that is not supplied', () => {
    const sibling = createIntermediateCa(pki.root, {
      subject: { commonName: 'Sibling CA' },
      validity: { notBefore: T0, notAfter: years(T0, 5) },
      pathLen: 0,
    });
    expect(codeOf({ intermediates: [sibling.certificate] })).toBe('WRONG_ISSUER');
  });

  it('WRONG_ISSUER when a same-named impostor CA signed the leaf (key identifier mismatch)', () => {
    const impostor = createRootCa({
      subject: { country: 'GB', organization: 'Meterkeep Test', commonName: 'Meterkeep Test Factory CA' },
      validity: { notBefore: T0, notAfter: years(T0, 10) },
    });
    expect(impostor.certificate.subject.equals(pki.intermediate.certificate.subject)).toBe(true);
    expect(codeOf({ leaf: device(impostor) })).toBe('WRONG_ISSUER');
  });

  it('BAD_SIGNATURE when one byte of the signature is flipped', () => {
    const tampered = parseCertificate(flipByte(pki.leaf.der, -1));
    expect(tampered.tbsDer.equals(pki.leaf.tbsDer)).toBe(true);
    expect(codeOf({ leaf: tampered })).toBe('BAD_SIGNATURE');
    const tamperedCa = parseCertificate(flipByte(pki.intermediate.certificate.der, -1));
    expect(codeOf({ intermediates: [tamperedCa] })).toBe('BAD_SIGNATURE');
  });

  it('BAD_SIGNATURE when a byte of the signed part is flipped', () => {
    const serialOffset = pki.leaf.der.indexOf(Buffer.from(pki.leaf.serialHex, 'hex'));
    const tampered = parseCertificate(flipByte(pki.leaf.der, serialOffset + 3));
    expect(codeOf({ leaf: tampered })).toBe('BAD_SIGNATURE');
  });

  it('UNTRUSTED_ROOT when the path ends at a root that is not a trust anchor', () => {
    const otherRoot = createRootCa({
      subject: { commonName: 'Other Root' },
      validity: { notBefore: T0, notAfter: years(T0, 10) },
    });
    expect(
      codeOf({
        trustAnchors: [otherRoot.certificate],
        intermediates: [pki.intermediate.certificate, pki.root.certificate],
      }),
    ).toBe('UNTRUSTED_ROOT');
  });

  it('UNTRUSTED_ROOT for a lookalike root: same name and key, different DER, not the anchor', () => {
    // Same key, same name, different serial: the path must end at the anchor by exact DER.
    const lookalike = createRootCa({
      subject: { country: 'GB', organization: 'Meterkeep Test', commonName: 'Meterkeep Test Root' },
      validity: { notBefore: T0, notAfter: years(T0, 20) },
      pathLen: 1,
      keyPair: { privateKey: pki.root.privateKey, publicKey: pki.root.certificate.publicKey },
    });
    expect(() => validateChain({ ...ok(), trustAnchors: [lookalike.certificate] })).not.toThrow();
    expect(
      codeOf({
        trustAnchors: [
          createRootCa({ subject: { commonName: 'X' }, validity: { notBefore: T0, notAfter: years(T0, 1) } })
            .certificate,
        ],
        intermediates: [pki.intermediate.certificate, lookalike.certificate],
      }),
    ).toBe('UNTRUSTED_ROOT');
  });

  it('PATH_LENGTH_EXCEEDED when a root with pathLen 1 has two CAs below it', () => {
    const a = createIntermediateCa(pki.root, {
      subject: { commonName: 'CA A' },
      validity: { notBefore: T0, notAfter: years(T0, 10) },
    });
    const b = createIntermediateCa(a, {
      subject: { commonName: 'CA B' },
      validity: { notBefore: T0, notAfter: years(T0, 10) },
    });
    const leaf = device(b);
    expect(codeOf({ leaf, intermediates: [a.certificate, b.certificate] })).toBe('PATH_LENGTH_EXCEEDED');
    // One CA below the root is within pathLen 1.
    expect(() => validateChain({ ...ok(), leaf: device(a), intermediates: [a.certificate] })).not.toThrow();
  });

  it('NOT_A_CA when the "intermediate" lacks basicConstraints CA', () => {
    const fakeCaKey = generateKeyPair();
    const fakeCa = issueCertificate({
      issuer: pki.intermediate,
      profile: 'operational-device',
      subject: { commonName: 'Not A CA' },
      subjectPublicKey: fakeCaKey.publicKey,
      notBefore: T0,
      notAfter: years(T0, 5),
    });
    const leaf = uncheckedIssuer({ certificate: fakeCa, privateKey: fakeCaKey.privateKey }).issue({
      profile: 'factory-device',
      subject: { commonName: 'meter-evil' },
      subjectPublicKey: generateKeyPair().publicKey,
      notBefore: T0,
      notAfter: years(T0, 1),
    });
    expect(codeOf({ leaf, intermediates: [fakeCa, pki.intermediate.certificate] })).toBe('NOT_A_CA');
  });

  it('EXTENDED_KEY_USAGE when the leaf lacks the required EKU', () => {
    const options = { leaf: pki.server };
    expect(() => validateChain({ ...ok(), ...options, requiredEku: 'serverAuth' })).not.toThrow();
    expect(codeOf({ ...options, requiredEku: 'clientAuth' })).toBe('EXTENDED_KEY_USAGE');
    expect(codeOf({ requiredEku: 'serverAuth' })).toBe('EXTENDED_KEY_USAGE');
  });

  it('LEAF_IS_CA when the leaf is a CA certificate (before its missing digitalSignature counts)', () => {
    expect(codeOf({ leaf: pki.intermediate.certificate, intermediates: [], requiredEku: undefined })).toBe(
      'LEAF_IS_CA',
    );
  });

  /** A CRL current at AT. */
  const currentCrl = (issuer: typeof pki.root, revoked: { serial: bigint; revokedAt: Date }[] = []) =>
    issueCrl({ issuer, thisUpdate: T0, nextUpdate: years(T0, 2), crlNumber: 1, revoked });
  const rootCrl = currentCrl(pki.root);

  it('REVOKED when the issuer CRL lists the leaf; fine when it does not', () => {
    const crl = (revoked: { serial: bigint; revokedAt: Date }[]) => currentCrl(pki.intermediate, revoked);
    expect(() =>
      validateChain({ ...ok(), crls: [crl([{ serial: 42n, revokedAt: T0 }]), rootCrl] }),
    ).not.toThrow();
    expect(codeOf({ crls: [crl([{ serial: pki.leaf.serial, revokedAt: T0 }]), rootCrl] })).toBe('REVOKED');
  });

  it('CRL_MISSING when CRLs are given but none covers a certificate of the path (fails closed)', () => {
    const leafCrl = currentCrl(pki.intermediate);
    expect(codeOf({ crls: [] })).toBe('CRL_MISSING');
    expect(codeOf({ crls: [leafCrl] })).toBe('CRL_MISSING'); // the intermediate: no root CRL
    expect(codeOf({ crls: [rootCrl] })).toBe('CRL_MISSING'); // the leaf: no intermediate CRL
    // Without the option, revocation is not checked at all.
    expect(() => validateChain(ok())).not.toThrow();
  });

  it('LEAF_IS_CA when the leaf is a CA certificate, even one with digitalSignature and the EKU', () => {
    const key = generateKeyPair();
    const caLeaf = forgeCertificate({
      issuer: pki.intermediate,
      subject: { commonName: 'meter-ca' },
      publicKey: key.publicKey,
      extensions: [
        basicConstraintsExtension(true),
        keyUsageExtension(['digitalSignature', 'keyCertSign']),
        extKeyUsageExtension(['clientAuth']),
      ],
    });
    expect(codeOf({ leaf: caLeaf })).toBe('LEAF_IS_CA');
  });

  it('REVOKED when the root CRL lists the intermediate', () => {
    const crl = issueCrl({
      issuer: pki.root,
      thisUpdate: T0,
      nextUpdate: years(T0, 2),
      crlNumber: 7,
      revoked: [{ serial: pki.intermediate.certificate.serial, revokedAt: T0, reason: 'cACompromise' }],
    });
    expect(codeOf({ crls: [crl] })).toBe('REVOKED');
  });

  it('CRL_EXPIRED / CRL_BAD_SIGNATURE for a stale or forged CRL of the issuer', () => {
    const stale = issueCrl({
      issuer: pki.intermediate,
      thisUpdate: T0,
      nextUpdate: years(T0, 1),
      crlNumber: 1,
      revoked: [],
    });
    expect(codeOf({ crls: [stale, rootCrl] })).toBe('CRL_EXPIRED');
    const sameName = createRootCa({
      subject: { country: 'GB', organization: 'Meterkeep Test', commonName: 'Meterkeep Test Factory CA' },
      validity: { notBefore: T0, notAfter: years(T0, 10) },
    });
    const forged = issueCrl({
      issuer: sameName,
      thisUpdate: T0,
      nextUpdate: years(T0, 3),
      crlNumber: 1,
      revoked: [],
    });
    // The forged CRL carries another key identifier: it is not the issuer's CRL, so none covers the leaf…
    expect(codeOf({ crls: [forged, rootCrl] })).toBe('CRL_MISSING');
    // …but a CRL whose signature was tampered with is refused.
    const good = issueCrl({
      issuer: pki.intermediate,
      thisUpdate: T0,
      nextUpdate: years(T0, 3),
      crlNumber: 2,
      revoked: [],
    });
    const tampered = { ...good, signature: flipByte(good.signature, -1) } as typeof good;
    expect(codeOf({ crls: [tampered, rootCrl] })).toBe('CRL_BAD_SIGNATURE');
  });

  describe('with hand-forged certificates', () => {
    const forgedCa = (extensions: Buffer[]) => {
      const key = generateKeyPair();
      const certificate = forgeCertificate({
        issuer: pki.root,
        subject: { commonName: 'Forged CA' },
        publicKey: key.publicKey,
        extensions,
      });
      return { certificate, privateKey: key.privateKey };
    };

    it('KEY_USAGE when an intermediate CA lacks keyCertSign', () => {
      const ca = forgedCa([
        basicConstraintsExtension(true, 0),
        keyUsageExtension(['digitalSignature', 'cRLSign']),
      ]);
      expect(errorCode(() => createIssuer(ca))).toBe('KEY_USAGE');
      expect(codeOf({ leaf: device(uncheckedIssuer(ca)), intermediates: [ca.certificate] })).toBe(
        'KEY_USAGE',
      );
    });

    it('EXTENDED_KEY_USAGE when an intermediate restricts EKU to other purposes', () => {
      const restricted = [basicConstraintsExtension(true, 0), keyUsageExtension(['keyCertSign', 'cRLSign'])];
      const ca = forgedCa([...restricted, extKeyUsageExtension(['serverAuth'])]);
      const leaf = device(ca);
      expect(codeOf({ leaf, intermediates: [ca.certificate] })).toBe('EXTENDED_KEY_USAGE');
      const open = forgedCa([...restricted, extKeyUsageExtension(['serverAuth', 'clientAuth'])]);
      expect(() =>
        validateChain({ ...ok(), leaf: device(open), intermediates: [open.certificate] }),
      ).not.toThrow();
    });

    it('UNKNOWN_CRITICAL_EXTENSION for a critical extension the validator does not understand', () => {
      const profile = [
        basicConstraintsExtension(false),
        keyUsageExtension(['digitalSignature']),
        extKeyUsageExtension(['clientAuth']),
      ];
      const forge = (critical: boolean) =>
        forgeCertificate({
          issuer: pki.intermediate,
          subject: { commonName: 'meter-odd' },
          publicKey: generateKeyPair().publicKey,
          extensions: [...profile, extension('1.3.6.1.4.1.99999.1', critical, der.nullValue())],
        });
      expect(() => validateChain({ ...ok(), leaf: forge(false) })).not.toThrow();
      expect(codeOf({ leaf: forge(true) })).toBe('UNKNOWN_CRITICAL_EXTENSION');
    });
  });
});
