import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { T0, buildPki, errorCode, years } from '../test/fixtures.js';
import {
  createIntermediateCa,
  createIssuer,
  createRootCa,
  formatFingerprint,
  generateKeyPair,
  issueCertificate,
  parseCertificate,
  spkiOf,
} from './index.js';

describe('issued certificates', () => {
  const pki = buildPki('meter-0001');

  it('factory-device: CN = endpoint name, KU digitalSignature (critical), EKU clientAuth, CA:false', () => {
    const { leaf, intermediate } = pki;
    expect(leaf.version).toBe(3);
    expect(leaf.subject.commonName).toBe('meter-0001');
    expect(leaf.issuer.equals(intermediate.certificate.subject)).toBe(true);
    const ext = leaf.extensions;
    expect(ext.keyUsage).toEqual(['digitalSignature']);
    expect(ext.all.find((e) => e.oid === '2.5.29.15')?.critical).toBe(true);
    expect(ext.extKeyUsage).toEqual(['clientAuth']);
    expect(ext.basicConstraints).toEqual({ ca: false, pathLen: undefined });
    expect(ext.subjectKeyIdentifier?.length).toBe(20);
    expect(
      ext.authorityKeyIdentifier?.equals(intermediate.certificate.extensions.subjectKeyIdentifier!),
    ).toBe(true);
    expect(ext.unknownCritical).toEqual([]);
  });

  it('CA profiles: basicConstraints CA with pathLen (critical), KU keyCertSign + cRLSign (critical)', () => {
    for (const [ca, pathLen] of [
      [pki.root.certificate, 1],
      [pki.intermediate.certificate, 0],
    ] as const) {
      expect(ca.extensions.basicConstraints).toEqual({ ca: true, pathLen });
      expect(ca.extensions.keyUsage).toEqual(['keyCertSign', 'cRLSign']);
      expect(ca.extensions.all.filter((e) => e.critical).map((e) => e.oid)).toEqual([
        '2.5.29.19',
        '2.5.29.15',
      ]);
      expect(ca.extensions.subjectKeyIdentifier).toBeDefined();
      expect(ca.extensions.authorityKeyIdentifier).toBeDefined();
    }
    expect(pki.root.certificate.isSelfIssued).toBe(true);
  });

  it('server: EKU serverAuth and DNS/IP SANs', () => {
    const { server } = pki;
    expect(server.extensions.extKeyUsage).toEqual(['serverAuth']);
    expect(server.extensions.subjectAltName).toMatchObject({
      dns: ['bootstrap.meterkeep.test', '*.meterkeep.test'],
      ip: ['127.0.0.1', '::1'],
    });
  });

  it("parses identically from DER and PEM, and agrees with Node's X509Certificate", () => {
    for (const cert of [pki.root.certificate, pki.intermediate.certificate, pki.leaf, pki.server]) {
      const fromPem = parseCertificate(cert.pem);
      const fromDer = parseCertificate(cert.der);
      expect(fromPem.der.equals(cert.der)).toBe(true);
      const node = new X509Certificate(cert.der);
      expect(node.subject).toBe(
        fromDer.subject.attributes.map((a) => `${a.shortName}=${a.value}`).join('\n'),
      );
      expect(node.issuer).toBe(fromDer.issuer.attributes.map((a) => `${a.shortName}=${a.value}`).join('\n'));
      expect(BigInt(`0x${node.serialNumber}`)).toBe(fromDer.serial);
      expect(node.validFromDate.getTime()).toBe(fromDer.notBefore.getTime());
      expect(node.validToDate.getTime()).toBe(fromDer.notAfter.getTime());
      expect(node.fingerprint256).toBe(formatFingerprint(fromDer.fingerprintSha256));
      expect(node.ca).toBe(fromDer.isCa);
      expect(node.publicKey.export({ type: 'spki', format: 'der' }).equals(fromDer.spki)).toBe(true);
    }
    const leaf = new X509Certificate(pki.leaf.der);
    const intermediate = new X509Certificate(pki.intermediate.certificate.der);
    const root = new X509Certificate(pki.root.certificate.der);
    expect(leaf.checkIssued(intermediate)).toBe(true);
    expect(leaf.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.checkIssued(root)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // Node reports extendedKeyUsage here
    expect(new X509Certificate(pki.server.der).subjectAltName).toBe(
      'DNS:bootstrap.meterkeep.test, DNS:*.meterkeep.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
  });

  it('keeps the subject KeyObject it was given instead of importing it again', () => {
    const { publicKey } = generateKeyPair();
    const cert = issueCertificate({
      issuer: pki.intermediate,
      profile: 'operational-device',
      subject: { commonName: 'meter-0002' },
      subjectPublicKey: publicKey,
      notBefore: T0,
      notAfter: years(T0, 1),
    });
    expect(cert.publicKey).toBe(publicKey);
    expect(cert.spki.equals(publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(spkiOf(publicKey).equals(cert.spki)).toBe(true);
    // The same certificate parsed from bytes imports its key once, then reuses it.
    const parsed = parseCertificate(cert.der);
    expect(parsed.publicKey).toBe(parsed.publicKey);
  });

  it('accepts SPKI DER as the subject key', () => {
    const spki = generateKeyPair().publicKey.export({ type: 'spki', format: 'der' });
    const cert = issueCertificate({
      issuer: pki.intermediate,
      profile: 'factory-device',
      subject: { commonName: 'meter-0003' },
      subjectPublicKey: spki,
      notBefore: T0,
      notAfter: years(T0, 1),
    });
    expect(cert.spki.equals(spki)).toBe(true);
  });

  it('uses 16-byte positive random serials by default, or the serial given', () => {
    const issue = (serial?: bigint) =>
      issueCertificate({
        issuer: pki.intermediate,
        profile: 'factory-device',
        subject: { commonName: 'meter-0004' },
        subjectPublicKey: generateKeyPair().publicKey,
        notBefore: T0,
        notAfter: years(T0, 1),
        ...(serial !== undefined && { serial }),
      });
    const a = issue();
    const b = issue();
    expect(a.serialHex).toHaveLength(32);
    expect(a.serial > 0n && a.serial !== b.serial).toBe(true);
    expect(issue(0xabcdefn).serial).toBe(0xabcdefn);
    expect(errorCode(() => issue(0n))).toBe('INVALID_ARGUMENT');
    expect(errorCode(() => issue(1n << 160n))).toBe('INVALID_ARGUMENT');
  });

  it('encodes notAfter from 2050 as GeneralizedTime, which Node and we both read', () => {
    const root = createRootCa({
      subject: { commonName: 'Long Root' },
      validity: { notBefore: T0, notAfter: new Date('9999-12-31T23:59:59Z') },
    });
    const notAfter = new Date('2060-05-04T03:02:01Z');
    const cert = issueCertificate({
      issuer: root,
      profile: 'factory-device',
      subject: { commonName: 'meter-2060' },
      subjectPublicKey: generateKeyPair().publicKey,
      notBefore: T0,
      notAfter,
    });
    expect(cert.der.includes(Buffer.from('20600504030201Z'))).toBe(true);
    expect(parseCertificate(cert.der).notAfter.getTime()).toBe(notAfter.getTime());
    expect(new X509Certificate(cert.der).validToDate.getTime()).toBe(notAfter.getTime());
  });

  it('builds the issuer once and reuses it', () => {
    expect(createIssuer(pki.intermediate)).toBe(createIssuer(pki.intermediate));
    const issuer = createIssuer(pki.intermediate);
    expect(createIssuer(issuer)).toBe(issuer);
    expect(issuer.name.equals(pki.intermediate.certificate.subject.der)).toBe(true);
  });
});

describe('issuing refusals', () => {
  const pki = buildPki();
  const base = {
    issuer: pki.intermediate,
    subjectPublicKey: generateKeyPair().publicKey,
    notBefore: T0,
    notAfter: years(T0, 1),
  };

  it('device profiles need a CN, server certificates need a SAN', () => {
    expect(errorCode(() => issueCertificate({ ...base, profile: 'factory-device', subject: {} }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      errorCode(() => issueCertificate({ ...base, profile: 'server', subject: { commonName: 'x' } })),
    ).toBe('INVALID_ARGUMENT');
    expect(
      errorCode(() =>
        issueCertificate({ ...base, profile: 'server', subject: {}, sans: { dns: ['bad_name'] } }),
      ),
    ).toBe('INVALID_ARGUMENT');
    const sanOnly = issueCertificate({ ...base, profile: 'server', subject: {}, sans: { ip: ['10.0.0.1'] } });
    expect(sanOnly.extensions.all.find((e) => e.oid === '2.5.29.17')?.critical).toBe(true);
  });

  it('refuses a validity window that is inverted or outlives the issuer', () => {
    expect(
      errorCode(() =>
        issueCertificate({ ...base, profile: 'factory-device', subject: { commonName: 'm' }, notAfter: T0 }),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(
      errorCode(() =>
        issueCertificate({
          ...base,
          profile: 'factory-device',
          subject: { commonName: 'm' },
          notAfter: years(T0, 16),
        }),
      ),
    ).toBe('INVALID_ARGUMENT');
  });

  it('a CA with pathLen 0 cannot certify another CA; pathLen must shrink', () => {
    const validity = { notBefore: T0, notAfter: years(T0, 5) };
    expect(
      errorCode(() => createIntermediateCa(pki.intermediate, { subject: { commonName: 'Sub' }, validity })),
    ).toBe('PATH_LENGTH_EXCEEDED');
    expect(
      errorCode(() =>
        createIntermediateCa(pki.root, { subject: { commonName: 'Sub' }, validity, pathLen: 1 }),
      ),
    ).toBe('PATH_LENGTH_EXCEEDED');
  });

  it('refuses to sign with a certificate that is not a CA, or with a key that is not its own', () => {
    const notCa = { certificate: pki.leaf, privateKey: pki.leafKey };
    expect(errorCode(() => createIssuer(notCa))).toBe('NOT_A_CA');
    const wrongKey = { certificate: pki.intermediate.certificate, privateKey: pki.root.privateKey };
    expect(errorCode(() => createIssuer(wrongKey))).toBe('KEY_MISMATCH');
  });

  it('pathLen belongs on CA certificates only', () => {
    expect(
      errorCode(() =>
        issueCertificate({ ...base, profile: 'factory-device', subject: { commonName: 'm' }, pathLen: 0 }),
      ),
    ).toBe('INVALID_ARGUMENT');
  });
});
