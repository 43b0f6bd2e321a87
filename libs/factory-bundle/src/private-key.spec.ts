import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { der, exportPrivateKey, fromPem, generateKeyPair, spkiOf, toPem } from '@meterkeep/pki';
import { describe, expect, it } from 'vitest';
import { publicPointOfPrivateKey } from './private-key.js';

const pkcs8Pem = (key = generateKeyPair().privateKey) => exportPrivateKey(key, 'pem') as string;

describe('publicPointOfPrivateKey', () => {
  it('gives the point OpenSSL derives from the same key', () => {
    const { privateKey } = generateKeyPair();
    const expected = spkiOf(createPublicKey(privateKey)).subarray(26);
    expect(publicPointOfPrivateKey(pkcs8Pem(privateKey))).toEqual(expected);
  });

  it('reads a PKCS#8 key without the embedded public key', () => {
    const { privateKey } = generateKeyPair();
    const jwk = privateKey.export({ format: 'jwk' });
    const { sequence, integer, oid, octetString } = der;
    const ecKey = sequence(integer(1), octetString(Buffer.from(jwk.d!, 'base64url')));
    const info = sequence(
      integer(0),
      sequence(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')),
      octetString(ecKey),
    );
    expect(publicPointOfPrivateKey(toPem(info, 'PRIVATE KEY'))).toEqual(
      spkiOf(createPublicKey(privateKey)).subarray(26),
    );
  });

  it('refuses another curve, a scalar out of range, and an embedded public key that is not its own', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    expect(() => publicPointOfPrivateKey(p384)).toThrow(/P-256/);

    const good = fromPem(pkcs8Pem(), 'PRIVATE KEY');
    const zero = Buffer.from(good);
    zero.fill(0, 36, 68); // the scalar
    expect(() => publicPointOfPrivateKey(toPem(zero, 'PRIVATE KEY'))).toThrow();

    const swapped = Buffer.from(good);
    fromPem(pkcs8Pem(), 'PRIVATE KEY').copy(swapped, 73, 73); // another key's public point
    expect(() => publicPointOfPrivateKey(toPem(swapped, 'PRIVATE KEY'))).toThrow(/not its own/);
  });
});
