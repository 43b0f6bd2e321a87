import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { T0, buildPki, errorCode, forgeCertificate, years } from '../test/fixtures.js';
import {
  PEM_LABEL,
  assertP256,
  createRootCa,
  exportPrivateKey,
  fingerprintSha256,
  formatFingerprint,
  fromPem,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  issueCertificate,
  normalizeFingerprint,
  parsePemBlocks,
  parseP256Spki,
  spkiOf,
  der,
  toPem,
} from './index.js';

const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const ed25519 = generateKeyPairSync('ed25519');
// Same point size as P-256, so only the curve OID tells them apart.
const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });

describe('keys', () => {
  it('imports P-256 keys from PEM and DER (PKCS#8, SEC1, SPKI)', () => {
    const { privateKey, publicKey } = generateKeyPair();
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    for (const input of [
      exportPrivateKey(privateKey, 'pem'),
      exportPrivateKey(privateKey, 'der'),
      privateKey.export({ type: 'sec1', format: 'pem' }),
      privateKey.export({ type: 'sec1', format: 'der' }),
    ]) {
      expect(importPrivateKey(input).equals(privateKey)).toBe(true);
    }
    for (const input of [spki, publicKey.export({ type: 'spki', format: 'pem' }), publicKey, privateKey]) {
      expect(importPublicKey(input).equals(publicKey)).toBe(true);
    }
  });

  it('builds the same SPKI as OpenSSL exports', () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey } = generateKeyPair();
      expect(spkiOf(publicKey).equals(publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    }
  });

  it('UNSUPPORTED_KEY for P-384, RSA and Ed25519 keys wherever a key enters', () => {
    for (const pair of [p384, secp256k1, rsa, ed25519]) {
      expect(errorCode(() => assertP256(pair.publicKey))).toBe('UNSUPPORTED_KEY');
      expect(
        errorCode(() => importPrivateKey(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }))),
      ).toBe('UNSUPPORTED_KEY');
      expect(errorCode(() => importPublicKey(pair.publicKey.export({ type: 'spki', format: 'der' })))).toBe(
        'UNSUPPORTED_KEY',
      );
      expect(errorCode(() => parseP256Spki(pair.publicKey.export({ type: 'spki', format: 'der' })))).toBe(
        'UNSUPPORTED_KEY',
      );
    }
    const pki = buildPki();
    const base = {
      issuer: pki.intermediate,
      profile: 'factory-device',
      subject: { commonName: 'm' },
      notBefore: T0,
      notAfter: years(T0, 1),
    } as const;
    expect(errorCode(() => issueCertificate({ ...base, subjectPublicKey: p384.publicKey }))).toBe(
      'UNSUPPORTED_KEY',
    );
    // A secp256k1 point has P-256's size: only the curve name stops it from passing as P-256.
    expect(errorCode(() => issueCertificate({ ...base, subjectPublicKey: secp256k1.publicKey }))).toBe(
      'UNSUPPORTED_KEY',
    );
    expect(errorCode(() => spkiOf(secp256k1.publicKey))).toBe('UNSUPPORTED_KEY');
    expect(
      errorCode(() =>
        issueCertificate({
          ...base,
          subjectPublicKey: rsa.publicKey.export({ type: 'spki', format: 'der' }),
        }),
      ),
    ).toBe('UNSUPPORTED_KEY');
    expect(
      errorCode(() =>
        createRootCa({
          subject: { commonName: 'R' },
          validity: { notBefore: T0, notAfter: years(T0, 1) },
          keyPair: p384,
        }),
      ),
    ).toBe('UNSUPPORTED_KEY');
  });

  it('MALFORMED for a key that is not a key', () => {
    expect(errorCode(() => importPrivateKey(Buffer.from('3000', 'hex')))).toBe('MALFORMED');
    expect(errorCode(() => importPublicKey(Buffer.from('3000', 'hex')))).toBe('MALFORMED');
  });
});

describe('PEM and fingerprints', () => {
  it('round-trips DER through PEM in 64-column lines', () => {
    const der = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
    const pem = toPem(der, PEM_LABEL.certificate);
    expect(pem.split('\n').every((line) => line.length <= 64)).toBe(true);
    expect(fromPem(pem, PEM_LABEL.certificate).equals(der)).toBe(true);
    expect(fromPem(`explanatory text\r\n${pem.replace(/\n/g, '\r\n')}`, 'CERTIFICATE').equals(der)).toBe(
      true,
    );
  });

  it('checks labels, base64 and the number of blocks', () => {
    const pem = toPem(Buffer.from([0x30, 0x00]), 'X509 CRL');
    expect(errorCode(() => fromPem(pem, 'CERTIFICATE'))).toBe('MALFORMED');
    expect(errorCode(() => fromPem(pem.replace('MAA', 'M!A'), 'X509 CRL'))).toBe('MALFORMED');
    expect(errorCode(() => fromPem(pem.replace('END X509 CRL', 'END CERTIFICATE'), 'X509 CRL'))).toBe(
      'MALFORMED',
    );
    expect(errorCode(() => fromPem(pem + pem, 'X509 CRL'))).toBe('MALFORMED');
    expect(errorCode(() => fromPem('no pem here', 'X509 CRL'))).toBe('MALFORMED');
    expect(parsePemBlocks(pem + pem)).toHaveLength(2);
  });

  it('fingerprints DER with SHA-256, in plain and colon form', () => {
    const fp = fingerprintSha256(Buffer.from('abc'));
    expect(fp).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(formatFingerprint(fp)).toMatch(/^BA:78:16:BF:.*:15:AD$/);
    expect(normalizeFingerprint(formatFingerprint(fp))).toBe(fp);
  });
});

describe('P-256 points are checked when a key or certificate is parsed', () => {
  const { publicKey } = generateKeyPair();
  const good = spkiOf(publicKey);
  const offCurve = Buffer.from(good);
  offCurve[90] = offCurve[90]! ^ 0x01; // y changed: no longer on the curve

  it('refuses an uncompressed point off the curve, or with a coordinate not below p', () => {
    expect(parseP256Spki(good).point).toHaveLength(65);
    expect(errorCode(() => parseP256Spki(offCurve))).toBe('UNSUPPORTED_KEY');
    const tooBig = Buffer.from(good);
    tooBig.fill(0xff, 27, 59); // x = 2^256 - 1 >= p
    expect(errorCode(() => parseP256Spki(tooBig))).toBe('UNSUPPORTED_KEY');
  });

  it('refuses a compressed point whose x has no point on the curve', () => {
    const jwk = publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x!, 'base64url');
    const y = Buffer.from(jwk.y!, 'base64url');
    const compressed = (first: Buffer) =>
      der.sequence(
        der.sequence(der.oid('1.2.840.10045.2.1'), der.oid('1.2.840.10045.3.1.7')),
        der.bitString(Buffer.concat([Buffer.from([0x02 | (y[31]! & 1)]), first])),
      );
    expect(parseP256Spki(compressed(x)).point).toHaveLength(33);
    // x = 1 is not the abscissa of any P-256 point (1 - 3 + b is not a square mod p).
    const one = Buffer.alloc(32);
    one[31] = 1;
    expect(errorCode(() => parseP256Spki(compressed(one)))).toBe('UNSUPPORTED_KEY');
  });

  it('refuses a certificate whose subject key is off the curve, though its signature is valid', () => {
    const pki = buildPki();
    expect(
      errorCode(() =>
        forgeCertificate({
          issuer: pki.intermediate,
          subject: { commonName: 'meter-off-curve' },
          publicKey,
          spki: offCurve,
          extensions: [],
        }),
      ),
    ).toBe('UNSUPPORTED_KEY');
  });
});
