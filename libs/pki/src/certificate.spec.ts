import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildPki, errorCode, forgeCertificate, selfSignedDer } from '../test/fixtures.js';
import { basicConstraintsExtension, extension, keyUsageExtension } from './extensions.js';
import { ECDSA_WITH_SHA256 } from './signature.js';
import {
  createRootCa,
  der,
  generateKeyPair,
  parseCertificate,
  parseCertificates,
  verifyCrl,
  issueCrl,
} from './index.js';

const pki = buildPki();
const SHA256_OID = Buffer.from('2a8648ce3d040302', 'hex');
const SHA384_OID = Buffer.from('2a8648ce3d040303', 'hex');

function replaceAll(der: Buffer, from: Buffer, to: Buffer, onlyLast = false): Buffer {
  const copy = Buffer.from(der);
  let at = onlyLast ? copy.lastIndexOf(from) : copy.indexOf(from);
  while (at >= 0) {
    to.copy(copy, at);
    at = onlyLast ? -1 : copy.indexOf(from, at + 1);
  }
  return copy;
}

describe('parseCertificate refusals', () => {
  it('UNSUPPORTED_ALGORITHM for anything but ecdsa-with-SHA256, inside or only outside the signed part', () => {
    expect(errorCode(() => parseCertificate(replaceAll(pki.leaf.der, SHA256_OID, SHA384_OID)))).toBe(
      'UNSUPPORTED_ALGORITHM',
    );
    expect(errorCode(() => parseCertificate(replaceAll(pki.leaf.der, SHA256_OID, SHA384_OID, true)))).toBe(
      'UNSUPPORTED_ALGORITHM',
    );
  });

  it('MALFORMED for ecdsa-with-SHA256 with parameters (RFC 5758: absent), even outside the signed part', () => {
    // Same algorithm, other encoding: NULL parameters on the outer AlgorithmIdentifier only.
    const der = pki.leaf.der;
    const outerAlgorithm = Buffer.from('300a06082a8648ce3d040302', 'hex');
    const at = der.lastIndexOf(outerAlgorithm);
    const withNull = Buffer.from('300c06082a8648ce3d0403020500', 'hex');
    const body = Buffer.concat([der.subarray(4, at), withNull, der.subarray(at + outerAlgorithm.length)]);
    const rebuilt = Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body]);
    expect(errorCode(() => parseCertificate(rebuilt))).toBe('MALFORMED');
  });

  it('UNSUPPORTED_KEY for a certificate whose subject key is not P-256', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const spki = p384.publicKey.export({ type: 'spki', format: 'der' });
    expect(
      errorCode(() =>
        forgeCertificate({
          issuer: pki.intermediate,
          subject: { commonName: 'p384' },
          publicKey: p384.publicKey,
          spki,
          extensions: [],
        }),
      ),
    ).toBe('UNSUPPORTED_KEY');
  });

  it('MALFORMED for duplicate extensions, truncation and trailing bytes', () => {
    const ku = keyUsageExtension(['digitalSignature']);
    expect(
      errorCode(() =>
        forgeCertificate({
          issuer: pki.intermediate,
          subject: { commonName: 'dup' },
          publicKey: generateKeyPair().publicKey,
          extensions: [basicConstraintsExtension(false), ku, ku],
        }),
      ),
    ).toBe('MALFORMED');
    expect(errorCode(() => parseCertificate(pki.leaf.der.subarray(0, pki.leaf.der.length - 1)))).toBe(
      'MALFORMED',
    );
    expect(errorCode(() => parseCertificate(Buffer.concat([pki.leaf.der, Buffer.from([0])])))).toBe(
      'MALFORMED',
    );
    expect(
      errorCode(() => parseCertificate('-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n')),
    ).toBe('MALFORMED');
  });

  it('parses a PEM bundle in order', () => {
    const bundle = pki.leaf.pem + pki.intermediate.certificate.pem;
    expect(parseCertificates(bundle).map((c) => c.fingerprintSha256)).toEqual([
      pki.leaf.fingerprintSha256,
      pki.intermediate.certificate.fingerprintSha256,
    ]);
  });
});

describe('verifyCrl names', () => {
  it('WRONG_ISSUER for a certificate with the same key under another name', () => {
    const { certificate, privateKey } = pki.intermediate;
    const renamed = createRootCa({
      subject: { commonName: 'Renamed' },
      validity: { notBefore: certificate.notBefore, notAfter: certificate.notAfter },
      keyPair: { privateKey, publicKey: certificate.publicKey },
    });
    const crl = issueCrl({
      issuer: pki.intermediate,
      thisUpdate: certificate.notBefore,
      nextUpdate: certificate.notAfter,
      crlNumber: 1,
      revoked: [],
    });
    expect(
      renamed.certificate.extensions.subjectKeyIdentifier?.equals(
        certificate.extensions.subjectKeyIdentifier!,
      ),
    ).toBe(true);
    expect(errorCode(() => verifyCrl(crl, renamed.certificate))).toBe('WRONG_ISSUER');
  });
});

describe('unique identifiers (issuerUniqueID [1], subjectUniqueID [2])', () => {
  /** The leaf's TBSCertificate with `uniqueIds` inserted after the SPKI and the version set, re-signed. */
  function withUniqueIds(version: number | undefined, uniqueIds: Buffer[]): Buffer {
    const tbs = der.decodeDer(pki.leaf.tbsDer);
    const fields = der.childrenOf(tbs).map((e) => der.encodingOf(e));
    const [, serial, algorithm, issuer, validity, subject, spki, extensions] = fields;
    const body = [serial!, algorithm!, issuer!, validity!, subject!, spki!, ...uniqueIds];
    if (version === 2) body.push(extensions!);
    const signed = der.sequence(
      ...(version === undefined ? [] : [der.explicit(0, der.integer(version))]),
      ...body,
    );
    return der.sequence(
      signed,
      ECDSA_WITH_SHA256,
      der.bitString(sign('sha256', signed, pki.intermediate.privateKey)),
    );
  }
  const uid = (tagNumber: number, content: Buffer) => der.implicit(tagNumber, content, false);

  it('accepts well-formed ones in v2 and v3 (RFC 5280: parse, never issue)', () => {
    const both = [uid(1, Buffer.from([0x00, 0xab])), uid(2, Buffer.from([0x04, 0xf0]))];
    expect(parseCertificate(withUniqueIds(2, both)).version).toBe(3);
    expect(parseCertificate(withUniqueIds(1, both)).version).toBe(2);
  });

  it('MALFORMED in a v1 certificate, or when not a DER BIT STRING', () => {
    expect(
      errorCode(() => parseCertificate(withUniqueIds(undefined, [uid(1, Buffer.from([0x00, 0xab]))]))),
    ).toBe('MALFORMED');
    expect(errorCode(() => parseCertificate(withUniqueIds(2, [uid(1, Buffer.alloc(0))])))).toBe('MALFORMED');
    expect(errorCode(() => parseCertificate(withUniqueIds(2, [uid(2, Buffer.from([0x09, 0xff]))])))).toBe(
      'MALFORMED',
    );
    expect(errorCode(() => parseCertificate(withUniqueIds(2, [uid(2, Buffer.from([0x01, 0x01]))])))).toBe(
      'MALFORMED',
    ); // an unused bit set
  });
});

describe('subjectAltName entries (found by the differential fuzzer)', () => {
  const withSanEntry = (entry: Buffer) =>
    forgeCertificate({
      issuer: pki.intermediate,
      subject: { commonName: 'meter-san' },
      publicKey: generateKeyPair().publicKey,
      extensions: [
        basicConstraintsExtension(true, 0),
        keyUsageExtension(['keyCertSign']),
        extension('2.5.29.17', false, der.sequence(der.implicit(2, Buffer.from('a.example'), false), entry)),
      ],
    });

  it('MALFORMED for an entry that is no GeneralName (OpenSSL then reads the extension as invalid)', () => {
    for (const entry of [
      der.oid('2.5.4.3'),
      der.bitString(Buffer.from('x')),
      der.tlv(0x1e, Buffer.from([0, 0x61])),
    ]) {
      expect(errorCode(() => withSanEntry(entry))).toBe('MALFORMED');
    }
  });

  it('keeps the GeneralName choices it does not read (otherName, directoryName, registeredID)', () => {
    const directoryName = der.explicit(4, der.sequence());
    const registeredId = der.implicit(8, der.contentOf(der.decodeDer(der.oid('1.2.3'))), false);
    for (const entry of [directoryName, registeredId]) {
      expect(withSanEntry(entry).extensions.subjectAltName?.dns).toEqual(['a.example']);
    }
  });
});

describe('authorityKeyIdentifier (found by the differential fuzzer)', () => {
  const withAki = (aki: Buffer) =>
    parseCertificate(selfSignedDer({ extensions: [extension('2.5.29.35', false, aki)] }));

  it('MALFORMED when authorityCertIssuer holds no GeneralNames or the serial is no INTEGER', () => {
    const keyId = der.implicit(0, Buffer.from([1, 2, 3]), false);
    // The fuzzer's case: the keyIdentifier retagged [1] constructed, so its bytes become "GeneralNames".
    expect(errorCode(() => withAki(der.sequence(der.tlv(0xa1, Buffer.from([0x01, 0xb1, 0xdd])))))).toBe(
      'MALFORMED',
    );
    expect(errorCode(() => withAki(der.sequence(keyId, der.implicit(2, Buffer.from([0, 1]), false))))).toBe(
      'MALFORMED',
    );
    const issuerAndSerial = [
      der.tlv(0xa1, der.explicit(4, der.sequence())),
      der.implicit(2, Buffer.from([7]), false),
    ];
    expect(withAki(der.sequence(keyId, ...issuerAndSerial)).extensions.all).toHaveLength(1);
  });
});
