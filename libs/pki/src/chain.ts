import type { Certificate } from './certificate.js';
import { type Crl, checkCrlCurrent, revocationOf, verifyCrl } from './crl.js';
import { PkiError } from './errors.js';
import type { ExtendedKeyUsage } from './extensions.js';
import { verifyEcdsaSha256 } from './signature.js';

export interface ValidateChainOptions {
  readonly leaf: Certificate;
  /** Certificates that may complete the path, in any order; extras are ignored. */
  readonly intermediates?: readonly Certificate[];
  /** The path must end at one of these, matched by exact DER (SHA-256 fingerprint). */
  readonly trustAnchors: readonly Certificate[];
  /** The clock: validity windows and CRL freshness are judged at this instant. */
  readonly at: Date;
  /** The leaf must carry this extendedKeyUsage; issuers that restrict EKU must allow it. */
  readonly requiredEku?: ExtendedKeyUsage;
  /**
   * With CRLs, revocation is checked and required: every certificate below the trust anchor must be
   * covered by a current CRL signed by its issuer's key, else CRL_MISSING (a CRL naming the issuer
   * but another key does not count). Without this option, revocation is not checked.
   */
  readonly crls?: readonly Crl[];
}

export interface ValidatedPath {
  /** Leaf first, trust anchor last. */
  readonly path: readonly Certificate[];
  readonly leaf: Certificate;
  readonly trustAnchor: Certificate;
}

/** Longer paths are refused outright: ours have three certificates. */
export const MAX_PATH_LENGTH = 8;

function label(certificate: Certificate): string {
  return certificate.subject.toString() || `serial ${certificate.serialHex}`;
}

/** Builds the path upward from the leaf by name, key identifier and signature. */
function buildPath(options: ValidateChainOptions): Certificate[] {
  const anchors = new Set(options.trustAnchors.map((c) => c.fingerprintSha256));
  const pool = [...options.trustAnchors, ...(options.intermediates ?? [])];
  const path = [options.leaf];
  for (let current = options.leaf; !anchors.has(current.fingerprintSha256);) {
    if (path.length >= MAX_PATH_LENGTH) {
      throw new PkiError('PATH_LENGTH_EXCEEDED', `No trust anchor within ${MAX_PATH_LENGTH} certificates`);
    }
    const inPath = new Set(path.map((c) => c.fingerprintSha256));
    const named = pool.filter((c) => c.subject.equals(current.issuer) && !inPath.has(c.fingerprintSha256));
    if (named.length === 0) {
      if (current.isSelfIssued) {
        throw new PkiError('UNTRUSTED_ROOT', `${label(current)} is self-issued but not a trust anchor`);
      }
      throw new PkiError(
        'WRONG_ISSUER',
        `Issuer ${current.issuer.toString()} of ${label(current)} is neither a supplied intermediate nor a trust anchor`,
      );
    }
    const aki = current.extensions.authorityKeyIdentifier;
    const keyed = named.filter((c) => {
      const ski = c.extensions.subjectKeyIdentifier;
      return !aki || !ski || aki.equals(ski);
    });
    if (keyed.length === 0) {
      throw new PkiError(
        'WRONG_ISSUER',
        `${label(current)} names issuer key ${aki!.toString('hex')}, which no ${current.issuer.toString()} certificate holds`,
      );
    }
    const issuer = keyed.find((c) => verifyEcdsaSha256(c.publicKey, current.tbsDer, current.signature));
    if (!issuer) {
      throw new PkiError('BAD_SIGNATURE', `Signature on ${label(current)} does not verify under its issuer`);
    }
    path.push(issuer);
    current = issuer;
  }
  return path;
}

function checkValidity(certificate: Certificate, at: Date): void {
  const now = Math.floor(at.getTime() / 1000) * 1000;
  if (now < certificate.notBefore.getTime()) {
    throw new PkiError(
      'NOT_YET_VALID',
      `${label(certificate)} is valid from ${certificate.notBefore.toISOString()}`,
    );
  }
  if (now > certificate.notAfter.getTime()) {
    throw new PkiError('EXPIRED', `${label(certificate)} expired at ${certificate.notAfter.toISOString()}`);
  }
}

function checkIssuerRole(issuer: Certificate, requiredEku: ExtendedKeyUsage | undefined): void {
  if (!issuer.extensions.basicConstraints?.ca) {
    throw new PkiError('NOT_A_CA', `${label(issuer)} issued a certificate but is not a CA`);
  }
  if (!issuer.extensions.keyUsage?.includes('keyCertSign')) {
    throw new PkiError('KEY_USAGE', `${label(issuer)} lacks keyUsage keyCertSign`);
  }
  const eku = issuer.extensions.extKeyUsage;
  if (requiredEku && eku && !eku.includes(requiredEku) && !eku.includes('anyExtendedKeyUsage')) {
    throw new PkiError(
      'EXTENDED_KEY_USAGE',
      `${label(issuer)} restricts extendedKeyUsage and excludes ${requiredEku}`,
    );
  }
}

function checkLeafRole(leaf: Certificate, requiredEku: ExtendedKeyUsage | undefined): void {
  // A CA certificate is not an end entity, whatever key usages it carries.
  if (leaf.isCa) throw new PkiError('LEAF_IS_CA', `${label(leaf)} is a CA certificate, not an end entity`);
  if (!leaf.extensions.keyUsage?.includes('digitalSignature')) {
    throw new PkiError('KEY_USAGE', `${label(leaf)} lacks keyUsage digitalSignature`);
  }
  if (requiredEku && !leaf.extensions.extKeyUsage?.includes(requiredEku)) {
    throw new PkiError('EXTENDED_KEY_USAGE', `${label(leaf)} lacks extendedKeyUsage ${requiredEku}`);
  }
}

function checkRevocation(
  certificate: Certificate,
  issuer: Certificate,
  crls: readonly Crl[],
  at: Date,
): void {
  const ski = issuer.extensions.subjectKeyIdentifier;
  const relevant = crls.filter(
    (crl) =>
      crl.issuer.equals(certificate.issuer) &&
      (!crl.authorityKeyIdentifier || !ski || crl.authorityKeyIdentifier.equals(ski)),
  );
  // Fail closed: no CRL from this issuer's key means the revocation status is unknown.
  if (relevant.length === 0) {
    throw new PkiError(
      'CRL_MISSING',
      `No CRL signed by the key of ${label(issuer)} covers ${label(certificate)}`,
    );
  }
  for (const crl of relevant) verifyCrl(crl, issuer);
  const entry = relevant.map((crl) => revocationOf(crl, certificate.serial)).find((e) => e !== undefined);
  if (entry) {
    throw new PkiError(
      'REVOKED',
      `${label(certificate)} (serial ${certificate.serialHex}) revoked at ${entry.revokedAt.toISOString()}` +
        (entry.reason ? ` (${entry.reason})` : ''),
    );
  }
  // Not listed: that means something only if one of the CRLs is current.
  let lastError: unknown;
  for (const crl of relevant) {
    try {
      checkCrlCurrent(crl, at);
      return;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * Validates a certificate path at the instant `at` and returns it (leaf first, anchor last), or
 * throws a PkiError naming the first fault: WRONG_ISSUER, BAD_SIGNATURE, UNTRUSTED_ROOT,
 * NOT_YET_VALID, EXPIRED, UNKNOWN_CRITICAL_EXTENSION, NOT_A_CA, KEY_USAGE, PATH_LENGTH_EXCEEDED,
 * EXTENDED_KEY_USAGE, LEAF_IS_CA, REVOKED, CRL_MISSING, CRL_BAD_SIGNATURE, CRL_EXPIRED,
 * CRL_NOT_YET_VALID.
 *
 * Beyond RFC 5280 minimums, by design: the trust anchor's own validity, CA flag and pathLen are
 * enforced (as OpenSSL does), the leaf must not be a CA and must carry keyUsage digitalSignature, a
 * required EKU must be present on the leaf (an absent extension does not count as "any"), and given
 * CRLs, revocation checking fails closed.
 */
export function validateChain(options: ValidateChainOptions): ValidatedPath {
  const path = buildPath(options);
  const { at, requiredEku } = options;
  // RFC 5280 6.1 order: from the anchor down, each CA tightening how many CAs may still follow.
  let remaining = Number.POSITIVE_INFINITY;
  let constrainedBy: Certificate | undefined;
  for (let i = path.length - 1; i >= 0; i--) {
    const certificate = path[i]!;
    checkValidity(certificate, at);
    const unknown = certificate.extensions.unknownCritical;
    if (unknown.length > 0) {
      throw new PkiError(
        'UNKNOWN_CRITICAL_EXTENSION',
        `${label(certificate)} has critical extension(s) ${unknown.join(', ')}`,
      );
    }
    if (i === 0) {
      checkLeafRole(certificate, requiredEku);
      break;
    }
    checkIssuerRole(certificate, requiredEku);
    if (i < path.length - 1 && !certificate.isSelfIssued) {
      if (remaining <= 0) {
        throw new PkiError(
          'PATH_LENGTH_EXCEEDED',
          `${label(certificate)} is one CA too many below ${label(constrainedBy!)} (pathLen ${constrainedBy!.extensions.basicConstraints?.pathLen})`,
        );
      }
      remaining--;
    }
    const pathLen = certificate.extensions.basicConstraints?.pathLen;
    if (pathLen !== undefined && pathLen < remaining) {
      remaining = pathLen;
      constrainedBy = certificate;
    }
  }
  const { crls } = options;
  // From the top: a revoked CA says more than a missing CRL below it.
  if (crls) for (let i = path.length - 2; i >= 0; i--) checkRevocation(path[i]!, path[i + 1]!, crls, at);
  return { path, leaf: path[0]!, trustAnchor: path[path.length - 1]! };
}
