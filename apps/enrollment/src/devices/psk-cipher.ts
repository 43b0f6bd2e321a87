import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export interface SealedPsk {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
  /** HMAC-SHA256 of the key under a KEK-derived key: compares keys without decrypting them. */
  digest: Buffer;
}

const derive = (kek: Buffer, purpose: string) =>
  Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), `meterkeep/enrollment/psk/${purpose}`, 32));

/**
 * Seals meters' pre-shared keys at rest: AES-256-GCM under a key derived from ENROLLMENT_PSK_KEK, with
 * the endpoint name as additional data so a sealed key cannot be moved to another meter's row.
 */
export class PskCipher {
  private readonly encryptionKey: Buffer;
  private readonly digestKey: Buffer;

  constructor(kek: Buffer) {
    if (kek.length !== 32) throw new RangeError('The PSK key-encryption key must be 32 bytes');
    this.encryptionKey = derive(kek, 'encryption');
    this.digestKey = derive(kek, 'digest');
  }

  seal(key: Buffer, endpointName: string): SealedPsk {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(endpointName, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
    return { ciphertext, iv, tag: cipher.getAuthTag(), digest: this.digest(key) };
  }

  open(sealed: Pick<SealedPsk, 'ciphertext' | 'iv' | 'tag'>, endpointName: string): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, sealed.iv);
    decipher.setAAD(Buffer.from(endpointName, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  }

  digest(key: Buffer): Buffer {
    return createHmac('sha256', this.digestKey).update(key).digest();
  }
}
