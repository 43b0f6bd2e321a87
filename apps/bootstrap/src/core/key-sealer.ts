import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface SealedKey {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
}

/**
 * Seals CA private keys at rest: AES-256-GCM under a key derived from BOOTSTRAP_KEK, with what the key
 * is (such as `tenant-ca:utility-north:issuing`) as additional data, so a sealed key cannot be moved
 * to another row and used as another CA's key.
 */
export class KeySealer {
  private readonly key: Buffer;

  constructor(kek: Buffer) {
    if (kek.length !== 32) throw new RangeError('The bootstrap key-encryption key must be 32 bytes');
    this.key = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'meterkeep/bootstrap/ca-keys', 32));
  }

  seal(plaintext: Buffer, purpose: string): SealedKey {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { ciphertext, iv, tag: cipher.getAuthTag() };
  }

  open(sealed: SealedKey, purpose: string): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.iv);
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  }
}

/** Opens a sealed key, or fails saying what is most likely wrong: another BOOTSTRAP_KEK than at sealing. */
export function openOrExplain(open: () => Buffer, what: string): Buffer {
  try {
    return open();
  } catch (error) {
    throw new Error(
      `BOOTSTRAP_KEK does not open the key of ${what} stored in PostgreSQL: ` +
        'is this the key-encryption key the database was set up with?',
      { cause: error },
    );
  }
}
