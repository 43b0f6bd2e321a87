import type { KeyObject } from 'node:crypto';
import { type z } from 'zod';
import { CanonicalizationError, canonicalBytes } from './canonical-json';
import { type FirmwareFailureCode, type Refusal, refuse } from './failure-codes';
import {
  type FirmwareManifest,
  MAX_ENVELOPE_BYTES,
  type ManifestEnvelope,
  type ManifestSignature,
  componentName,
  manifestEnvelopeSchema,
  manifestSchema,
} from './manifest.schema';
import { fromBase64url, keyIdOf, sha256Hex, signEs256, toBase64url, verifyEs256 } from './signature';
import { verifySigningKeyCertificate } from './signing-key-certificate';
import { toDer } from '@meterkeep/pki';

/**
 * The detached manifest envelope (spec §5.1): `{ manifest, signatures: [{ keyId, alg, sig,
 * signingKeyCert? }] }`. Every signature is ES256 over the JCS bytes of `manifest`; the manifest digest
 * is the SHA-256 of those same bytes, so the digest a directive names is the digest of what was signed.
 */

export interface ManifestSigner {
  readonly privateKey: KeyObject;
  /** The signing key's certificate from the root (`firmware-signer delegate`); absent for the root. */
  readonly signingKeyCertPem?: string;
}

export interface SignedManifest {
  readonly envelopeBytes: Buffer;
  /** The exact bytes signed (`manifest.jcs`). */
  readonly canonicalBytes: Buffer;
  /** Lowercase hex SHA-256 of canonicalBytes: the manifest digest. */
  readonly digest: string;
  /** Detached DER signatures, one per signer, in order (`manifest.sig` for the first). */
  readonly signaturesDer: Buffer[];
}

/** Signs a manifest (checked against the schema first: a signer never signs what a meter refuses). */
export function signManifest(manifest: FirmwareManifest, signers: readonly ManifestSigner[]): SignedManifest {
  if (signers.length === 0) throw new RangeError('A manifest needs at least one signer');
  const parsed = manifestSchema.safeParse(manifest);
  if (!parsed.success) throw new RangeError(`The manifest is not valid: ${describeIssues(parsed.error)}`);
  return withSignatures(parsed.data, [], signers);
}

/**
 * Adds signatures to an existing envelope (a second signer, on another machine, for a component whose
 * device policy asks for two). The signatures already there are kept as they are; the returned
 * `signaturesDer` are the new ones. The co-signer compares the printed digest with the first signer's.
 */
export function cosignManifest(
  envelopeBytes: Uint8Array,
  signers: readonly ManifestSigner[],
): SignedManifest {
  if (signers.length === 0) throw new RangeError('Co-signing needs at least one signer');
  const json = parseBoundedJson(envelopeBytes, MAX_ENVELOPE_BYTES);
  const parsed = manifestEnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    throw new RangeError(
      json === undefined
        ? 'The envelope is not UTF-8 JSON within 64 KiB'
        : `The envelope is not valid: ${describeIssues(parsed.error)}`,
    );
  }
  return withSignatures(parsed.data.manifest, parsed.data.signatures, signers);
}

function withSignatures(
  manifest: FirmwareManifest,
  existing: readonly ManifestSignature[],
  signers: readonly ManifestSigner[],
): SignedManifest {
  const bytes = canonicalBytes(manifest);
  const signaturesDer = signers.map((signer) => signEs256(signer.privateKey, bytes));
  const envelope: ManifestEnvelope = {
    manifest,
    signatures: [
      ...existing,
      ...signers.map((signer, i) => ({
        keyId: keyIdOf(signer.privateKey),
        alg: 'ES256' as const,
        sig: toBase64url(signaturesDer[i]!),
        ...(signer.signingKeyCertPem !== undefined && {
          signingKeyCert: toBase64url(toDer(signer.signingKeyCertPem, 'CERTIFICATE')),
        }),
      })),
    ],
  };
  const checked = manifestEnvelopeSchema.safeParse(envelope);
  if (!checked.success) throw new RangeError(`The envelope is not valid: ${describeIssues(checked.error)}`);
  const envelopeBytes = canonicalBytes(checked.data);
  if (envelopeBytes.length > MAX_ENVELOPE_BYTES) {
    throw new RangeError(
      `The envelope is ${envelopeBytes.length} bytes; meters accept ${MAX_ENVELOPE_BYTES}`,
    );
  }
  return { envelopeBytes, canonicalBytes: bytes, digest: sha256Hex(bytes), signaturesDer };
}

export interface ManifestTrust {
  /** The update authority's root keys (the bundle's updateAuthorityPublicKeyPem, and its successor). */
  readonly rootPublicKeys: readonly KeyObject[];
  /** Key ids (keyIdOf) no longer trusted: a signature by one is SIGNING_KEY_REVOKED. */
  readonly revokedKeyIds?: ReadonlySet<string>;
  /** Device policy: distinct signers a component needs (default 1), e.g. 2 for "metrology". */
  readonly requiredSignatures?: (componentId: string) => number;
}

export interface VerifiedManifest {
  readonly ok: true;
  /** The verified copy: act on it, never on bytes read again (THREAT.MFST.TOCTOU). */
  readonly manifest: FirmwareManifest;
  readonly canonicalBytes: Buffer;
  readonly digest: string;
  /** Distinct key ids whose signatures verified, in envelope order. */
  readonly signerKeyIds: readonly string[];
}

export type ManifestVerification = VerifiedManifest | Refusal<FirmwareFailureCode>;

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * The code for an envelope the schema refuses. A signature entry that cannot be one (alg "none" or
 * another, no signatures at all, a sig that is no base64url) is MANIFEST_SIGNATURE_INVALID; a payload
 * format or component the schema does not list is FORMAT_UNSUPPORTED or COMPONENT_UNKNOWN (§6.8);
 * anything else (too large, not JSON, an unknown field, a bound exceeded) is MANIFEST_MALFORMED.
 */
function schemaRefusal(error: z.ZodError): Refusal<FirmwareFailureCode> {
  const message = describeIssues(error);
  const paths = error.issues.map((issue) => issue.path);
  const inComponents = (field: string) =>
    paths.find((p) => p[0] === 'manifest' && p[1] === 'components' && p[3] === field && p.length >= 4);
  if (paths.some((p) => p[0] === 'signatures')) return refuse('MANIFEST_SIGNATURE_INVALID', message);
  if (inComponents('format')) return refuse('FORMAT_UNSUPPORTED', message);
  if (inComponents('id')) return refuse('COMPONENT_UNKNOWN', message);
  return refuse('MANIFEST_MALFORMED', message);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes to JSON, bounded first; undefined for anything that is not UTF-8 JSON. */
export function parseBoundedJson(bytes: Uint8Array, maxBytes: number): unknown {
  if (bytes.length > maxBytes) return undefined;
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a manifest envelope as a meter does (spec §6.3 step "manifest signatures"): size bound,
 * strict schema, then every signature over the exact canonical bytes. A signature is by a root key or
 * by a signing key whose certificate a root key signed and which is valid at `trustedNow`; a revoked
 * signer is SIGNING_KEY_REVOKED. Every signature present must verify (a bad one is never skipped), and
 * each component needs as many distinct signers as the device policy asks. Never throws.
 */
export function verifyManifestEnvelope(
  bytes: Uint8Array,
  trust: ManifestTrust,
  trustedNow: Date,
): ManifestVerification {
  try {
    return verifyOrRefuse(bytes, trust, trustedNow);
  } catch (error) {
    // A defect here must still refuse, never install: the fuzz test holds this path unused.
    return refuse(
      'MANIFEST_MALFORMED',
      `unexpected: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function verifyOrRefuse(bytes: Uint8Array, trust: ManifestTrust, trustedNow: Date): ManifestVerification {
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    return refuse('MANIFEST_MALFORMED', `envelope of ${bytes.length} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  }
  const json = parseBoundedJson(bytes, MAX_ENVELOPE_BYTES);
  if (json === undefined) return refuse('MANIFEST_MALFORMED', 'envelope is not UTF-8 JSON');
  const parsed = manifestEnvelopeSchema.safeParse(json);
  if (!parsed.success) return schemaRefusal(parsed.error);
  const { manifest, signatures } = parsed.data;
  let signed: Buffer;
  try {
    signed = canonicalBytes(manifest);
  } catch (error) {
    if (!(error instanceof CanonicalizationError)) throw error;
    return refuse('MANIFEST_MALFORMED', `manifest has no canonical form: ${error.message}`);
  }
  const rootsById = new Map(trust.rootPublicKeys.map((key) => [keyIdOf(key), key] as const));
  const signers: string[] = [];

  for (const [i, entry] of signatures.entries()) {
    const where = `signatures[${i}]`;
    // The key that verifies, and its id computed from the key itself: revocation and the signer count
    // never rest on the keyId the envelope claims.
    let key: KeyObject | undefined;
    let signerKeyId: string;
    if (entry.signingKeyCert === undefined) {
      key = rootsById.get(entry.keyId);
      if (!key) {
        if (trust.revokedKeyIds?.has(entry.keyId)) {
          return refuse('SIGNING_KEY_REVOKED', `${where}: key ${entry.keyId} is revoked`);
        }
        return refuse(
          'MANIFEST_SIGNATURE_INVALID',
          `${where}: key ${entry.keyId} is no root key and has no certificate`,
        );
      }
      signerKeyId = entry.keyId; // the map's key: keyIdOf(key)
    } else {
      const certificateDer = fromBase64url(entry.signingKeyCert);
      if (!certificateDer)
        return refuse('MANIFEST_SIGNATURE_INVALID', `${where}: signingKeyCert is no base64url`);
      const delegation = verifySigningKeyCertificate(certificateDer, trust.rootPublicKeys, trustedNow);
      if (!delegation.ok) return refuse('MANIFEST_SIGNATURE_INVALID', `${where}: ${delegation.reason}`);
      key = delegation.publicKey;
      signerKeyId = delegation.keyId;
    }
    if (trust.revokedKeyIds?.has(signerKeyId)) {
      return refuse('SIGNING_KEY_REVOKED', `${where}: key ${signerKeyId} is revoked`);
    }
    if (signerKeyId !== entry.keyId) {
      return refuse('MANIFEST_SIGNATURE_INVALID', `${where}: keyId is not the certified key's`);
    }
    const signature = fromBase64url(entry.sig);
    if (!signature || !verifyEs256(key, signed, signature)) {
      return refuse(
        'MANIFEST_SIGNATURE_INVALID',
        `${where}: the signature does not verify over the manifest`,
      );
    }
    if (!signers.includes(signerKeyId)) signers.push(signerKeyId);
  }

  for (const component of manifest.components) {
    const name = componentName(component);
    const required = Math.max(1, trust.requiredSignatures?.(name) ?? 1);
    if (signers.length < required) {
      return refuse(
        'MANIFEST_SIGNATURES_INSUFFICIENT',
        `component ${name} needs ${required} distinct signers, the envelope has ${signers.length}`,
      );
    }
  }
  return { ok: true, manifest, canonicalBytes: signed, digest: sha256Hex(signed), signerKeyIds: signers };
}
