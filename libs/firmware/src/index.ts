// @meterkeep/firmware: the firmware trust formats shared by the distributor, the meter-sim and the
// offline signer: RFC 8785 canonical JSON, the signed manifest envelope, signing-key delegation,
// the meter's post-signature checks, directives and receipts. Pure: no I/O.
export { CanonicalizationError, MAX_CANONICAL_DEPTH, canonicalBytes, canonicalize } from './canonical-json';
export {
  DOWNLOAD_HTTP_FAILURE_PATTERN,
  FIRMWARE_FAILURE_CODES,
  type FirmwareFailureCode,
  type Refusal,
  downloadHttpFailure,
  isFirmwareFailureCode,
} from './failure-codes';
export {
  type FirmwareManifest,
  type ImageDigest,
  MAX_COMPONENTS,
  MAX_DESCRIPTION_CHARS,
  MAX_ENVELOPE_BYTES,
  MAX_SIGNATURES,
  MAX_SIGNING_KEY_CERT_CHARS,
  type ManifestComponent,
  type ManifestEnvelope,
  type ManifestSignature,
  componentName,
  manifestEnvelopeSchema,
  manifestSchema,
} from './manifest.schema';
export {
  type ManifestSigner,
  type ManifestTrust,
  type ManifestVerification,
  type SignedManifest,
  type VerifiedManifest,
  cosignManifest,
  signManifest,
  verifyManifestEnvelope,
} from './envelope';
export { keyIdOf, sha256Hex, signEs256, verifyEs256 } from './signature';
export {
  type DelegationOptions,
  MAX_DELEGATION_DAYS,
  type SigningKeyCertificateCheck,
  issueSigningKeyCertificate,
  verifySigningKeyCertificate,
} from './signing-key-certificate';
export { type DeviceCheck, type DeviceFirmwareState, checkManifestForDevice } from './device-check';
export {
  DIRECTIVE_ACTION_TYPES,
  type Directive,
  type DirectiveExpectation,
  type DirectiveVerification,
  MAX_DIRECTIVE_LIFETIME_MS,
  directiveSchema,
  signDirective,
  verifyDirective,
} from './directive';
export {
  RECEIPT_FAILURE_CODES,
  type Receipt,
  type ReceiptExpectation,
  type ReceiptFailureCode,
  type ReceiptVerification,
  receiptSchema,
  signReceipt,
  verifyReceipt,
} from './receipt';
export { MAX_SIGNED_MESSAGE_BYTES } from './signed-message';
export {
  type DocumentCheck,
  type DocumentSignature,
  checkDocumentSignature,
  documentDigest,
  documentSigningBytes,
  loadSigningKey,
  signDocument,
} from './signed-document';
