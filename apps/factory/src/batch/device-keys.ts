import { type ECDH, createECDH, randomFillSync } from 'node:crypto';

// DER around a P-256 key, as OpenSSL writes it (RFC 5480, RFC 5915, RFC 5208):
// SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, BIT STRING point }
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
// PrivateKeyInfo: SEQUENCE { 0, AlgorithmIdentifier, OCTET STRING ECPrivateKey { 1, OCTET STRING d, [1] point } }
const PKCS8_PREFIX = Buffer.from(
  '308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420',
  'hex',
);
const PKCS8_POINT_PREFIX = Buffer.from('a144034200', 'hex');
const SCALAR_BYTES = 32;
const POINT_BYTES = 65;
const D_OFFSET = PKCS8_PREFIX.length;
const POINT_OFFSET = D_OFFSET + SCALAR_BYTES + PKCS8_POINT_PREFIX.length;
export const PKCS8_BYTES = POINT_OFFSET + POINT_BYTES;

export interface DeviceKey {
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
  /** PrivateKeyInfo DER (unencrypted PKCS#8), what `KeyObject.export({ type: 'pkcs8' })` gives. */
  readonly pkcs8: Buffer;
}

/**
 * P-256 key pairs for meters, minted at line rate. A private key is a scalar drawn uniformly from
 * [1, n-1] by testing candidates (FIPS 186-4 B.4.2, as OpenSSL's own keygen does): 32 bytes from the
 * CSPRNG, refused by OpenSSL when 0 or >= n (odds about 2^-32), the public point computed by
 * OpenSSL's constant-time fixed-base multiplication. Compared with generateKeyPairSync plus an
 * export, this skips building an EVP_PKEY and running its encoder, which is more than half the
 * cost of a key; the encodings are fixed-layout, so they are assembled here.
 */
export class DeviceKeyFactory {
  private readonly ecdh: ECDH = createECDH('prime256v1');
  private readonly pool = Buffer.alloc(SCALAR_BYTES * 256);
  private offset = this.pool.length;

  next(): DeviceKey {
    const pkcs8 = Buffer.allocUnsafe(PKCS8_BYTES);
    PKCS8_PREFIX.copy(pkcs8, 0);
    PKCS8_POINT_PREFIX.copy(pkcs8, D_OFFSET + SCALAR_BYTES);
    const scalar = pkcs8.subarray(D_OFFSET, D_OFFSET + SCALAR_BYTES);
    for (;;) {
      this.random(scalar);
      try {
        this.ecdh.setPrivateKey(scalar);
        break;
      } catch {
        // Out of range: draw again.
      }
    }
    const point = this.ecdh.getPublicKey();
    point.copy(pkcs8, POINT_OFFSET);
    const spki = Buffer.allocUnsafe(SPKI_PREFIX.length + POINT_BYTES);
    SPKI_PREFIX.copy(spki, 0);
    point.copy(spki, SPKI_PREFIX.length);
    return { spki, pkcs8 };
  }

  /** Fills `target` from the CSPRNG through a pool (one call per 256 draws); used bytes are wiped. */
  random(target: Buffer): Buffer {
    if (target.length > this.pool.length) return randomFillSync(target);
    if (this.offset + target.length > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const used = this.pool.subarray(this.offset, this.offset + target.length);
    used.copy(target);
    used.fill(0);
    this.offset += target.length;
    return target;
  }
}
