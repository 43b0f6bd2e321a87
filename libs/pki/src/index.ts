// @meterkeep/pki: pure X.509 for ECDSA P-256 (no I/O), on synchronous Node crypto.
export { PKI_ERROR_CODES, PkiError, type PkiErrorCode, isPkiError } from './errors.js';
export {
  type KeyPair,
  type P256PublicKeyInfo,
  assertP256,
  exportPrivateKey,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  keyIdentifier,
  parseP256Spki,
  publicKeyFromSpki,
  publicKeyToPem,
  spkiOf,
} from './keys.js';
export { PEM_LABEL, type PemBlock, fromPem, parsePemBlocks, toDer, toPem } from './pem.js';
export { fingerprintSha256, formatFingerprint, normalizeFingerprint } from './fingerprint.js';
export {
  DistinguishedName,
  type NameAttribute,
  type SubjectInput,
  encodeName,
  nameFromSubject,
} from './name.js';
export {
  type BasicConstraints,
  type ExtendedKeyUsage,
  type Extensions,
  KEY_USAGES,
  type KeyUsage,
  type RawExtension,
  type SanInput,
  type SubjectAltNames,
} from './extensions.js';
export { Certificate, parseCertificate, parseCertificateChain, parseCertificates } from './certificate.js';
export {
  MAX_CERTIFICATE_BYTES,
  MAX_CHAIN_BYTES,
  MAX_CHAIN_CERTIFICATES,
  MAX_CSR_BYTES,
  MAX_EXTENSIONS,
  MAX_NAME_ATTRIBUTES,
} from './limits.js';
export {
  CERTIFICATE_PROFILES,
  type CertificateAuthority,
  type CertificateProfile,
  type IssueOptions,
  Issuer,
  type PublicKeyHolder,
  createIssuer,
  issueCertificate,
} from './issuer.js';
export { type CreateCaOptions, type Validity, createIntermediateCa, createRootCa } from './ca.js';
export {
  CertificationRequest,
  type CreateCsrOptions,
  type IssueFromCsrOptions,
  createCsr,
  issueFromCsr,
  parseCsr,
} from './csr.js';
export {
  Crl,
  type IssueCrlOptions,
  REVOCATION_REASONS,
  type RevocationInput,
  type RevocationReason,
  type RevokedCertificate,
  checkCrlCurrent,
  isRevoked,
  issueCrl,
  parseCrl,
  revocationOf,
  verifyCrl,
} from './crl.js';
export { MAX_PATH_LENGTH, type ValidateChainOptions, type ValidatedPath, validateChain } from './chain.js';
export * as der from './der/index.js';
