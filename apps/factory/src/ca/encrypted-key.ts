import { type KeyObject, createCipheriv, createPrivateKey, randomBytes, scryptSync } from 'node:crypto';
import { der, toPem } from '@meterkeep/pki';
import { FactoryError } from '../factory.errors';

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  scrypt: '1.3.6.1.4.1.11591.4.11',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

/**
 * scrypt cost for the CA keys at rest. Node's own encrypted export uses PBKDF2 with 2,048 iterations,
 * cheap to guess against; scrypt at N=2^14, r=8 (16 MiB per guess) is what `openssl pkcs8 -scrypt`
 * writes, and the most OpenSSL will read back (it caps scrypt at 32 MiB), so the files stay usable
 * with `openssl pkey`.
 */
export const KEY_SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const;
const KEY_BYTES = 32;

/** PKCS#8 EncryptedPrivateKeyInfo, PBES2 with scrypt (RFC 7914) and AES-256-CBC, as PEM. */
export function encryptPrivateKey(key: KeyObject, passphrase: string): string {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const { N, r, p } = KEY_SCRYPT;
  const kek = scryptSync(passphrase, salt, KEY_BYTES, { N, r, p, maxmem: 64 * 1024 * 1024 });
  const cipher = createCipheriv('aes-256-cbc', kek, iv);
  const plain = key.export({ type: 'pkcs8', format: 'der' });
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  plain.fill(0);
  kek.fill(0);
  const { sequence, oid, octetString, integer } = der;
  const scryptParams = sequence(octetString(salt), integer(N), integer(r), integer(p), integer(KEY_BYTES));
  const algorithm = sequence(
    oid(OID.pbes2),
    sequence(sequence(oid(OID.scrypt), scryptParams), sequence(oid(OID.aes256Cbc), octetString(iv))),
  );
  return toPem(sequence(algorithm, octetString(encrypted)), 'ENCRYPTED PRIVATE KEY');
}

/** Decrypts with OpenSSL (any PKCS#8 encryption it reads); a wrong passphrase is named as such. */
export function decryptPrivateKey(pem: string, passphrase: string, file: string): KeyObject {
  if (!pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new FactoryError('CA_INVALID', `${file} is not an encrypted private key`);
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch {
    // OpenSSL says "bad decrypt" or, when the padding happens to pass, fails to parse the result.
    throw new FactoryError('WRONG_PASSPHRASE', `wrong passphrase for ${file}`);
  }
}
