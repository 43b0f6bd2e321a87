import { type KeyPair, generateKeyPair } from './keys.js';
import { type CertificateAuthority, type Issuer, createIssuer, selfSignCa } from './issuer.js';
import type { SubjectInput } from './name.js';

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CreateCaOptions {
  readonly subject: SubjectInput;
  readonly validity: Validity;
  /** How many CAs may follow this one in a path. Absent: unconstrained. */
  readonly pathLen?: number;
  /** Default: a fresh P-256 key pair. */
  readonly keyPair?: KeyPair;
  readonly serial?: bigint | Uint8Array;
}

/** A self-signed root: basicConstraints CA (critical, with pathLen), keyUsage keyCertSign + cRLSign (critical). */
export function createRootCa(options: CreateCaOptions): CertificateAuthority {
  const { privateKey, publicKey } = options.keyPair ?? generateKeyPair();
  const certificate = selfSignCa(privateKey, publicKey, {
    subject: options.subject,
    notBefore: options.validity.notBefore,
    notAfter: options.validity.notAfter,
    ...(options.pathLen !== undefined && { pathLen: options.pathLen }),
    ...(options.serial !== undefined && { serial: options.serial }),
  });
  return { certificate, privateKey };
}

/** An intermediate CA certified by `parent` (a root or another intermediate). */
export function createIntermediateCa(
  parent: CertificateAuthority | Issuer,
  options: CreateCaOptions,
): CertificateAuthority {
  const { privateKey, publicKey } = options.keyPair ?? generateKeyPair();
  const certificate = createIssuer(parent).issue({
    profile: 'intermediate-ca',
    subject: options.subject,
    subjectPublicKey: publicKey,
    notBefore: options.validity.notBefore,
    notAfter: options.validity.notAfter,
    ...(options.pathLen !== undefined && { pathLen: options.pathLen }),
    ...(options.serial !== undefined && { serial: options.serial }),
  });
  return { certificate, privateKey };
}
