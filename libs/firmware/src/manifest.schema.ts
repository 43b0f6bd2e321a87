import { OTA_COMPONENT_IDS, OTA_DELTA_FORMATS, OTA_PAYLOAD_FORMATS } from '@meterkeep/contracts';
import { classId, vendorId } from '@meterkeep/factory-bundle';
import { z } from 'zod';
import { BASE64URL } from './signature';

/**
 * The firmware manifest, v1 (spec §5.1), with SUIT's element names in comments. Strict everywhere: a
 * field the meter does not know is a refusal, never ignored (a signed security object has no "ignore
 * what you don't understand"). vendorId and classId follow the factory bundle's identifier rule, so
 * the meter compares a manifest's values with its bundle's byte for byte.
 */

/** Envelope bytes accepted at most, checked before anything is parsed. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
export const MAX_COMPONENTS = 8;
export const MAX_SIGNATURES = 4;
export const MAX_DESCRIPTION_CHARS = 512;
/** A signing-key certificate, base64url DER; our certificates are about 500 bytes. */
export const MAX_SIGNING_KEY_CERT_CHARS = 4096;

export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');
/** UTC instants as ISO 8601 with Z: one spelling, so the signed bytes have one form. */
export const utcInstant = z.iso.datetime();

/** SUIT Image Digest: the algorithm is named so a later one can be added without a new format. */
export const imageDigest = z.strictObject({ alg: z.literal('sha-256'), value: sha256Hex });

/** SUIT Component Identifier: a one-element path naming the component. */
export const componentIdentifier = z.tuple([z.enum(OTA_COMPONENT_IDS)]);
export const payloadFormat = z.enum(OTA_PAYLOAD_FORMATS);
export const firmwareVersion = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+~-]{0,63}$/, 'firmware version');
/** Image sizes up to 4 GiB; a class's own cap (default 32 MiB) is the distributor's to apply. */
const imageSize = z
  .number()
  .int()
  .min(1)
  .max(2 ** 32);

export const manifestComponent = z
  .strictObject({
    id: componentIdentifier,
    version: firmwareVersion,
    /** SUIT Payload Format. */
    format: payloadFormat,
    /** SUIT Image Digest of the payload as fetched (the delta itself for a delta format). */
    digest: imageDigest,
    /** SUIT Image Size of the payload as fetched. */
    size: imageSize,
    /** SUIT Precursor Image Digest: the installed image a delta applies to. */
    precursorDigest: imageDigest.optional(),
    /** The image after decompression or patching, verified before activation. */
    resultDigest: imageDigest.optional(),
    resultSize: imageSize.optional(),
  })
  .superRefine((component, ctx) => {
    const delta = OTA_DELTA_FORMATS.has(component.format);
    if (delta && !component.precursorDigest) {
      ctx.addIssue({
        code: 'custom',
        path: ['precursorDigest'],
        message: 'a delta needs its precursor digest',
      });
    }
    if (!delta && component.precursorDigest) {
      ctx.addIssue({ code: 'custom', path: ['precursorDigest'], message: 'only a delta has a precursor' });
    }
    if (delta && !component.resultDigest) {
      ctx.addIssue({ code: 'custom', path: ['resultDigest'], message: 'a delta needs its result digest' });
    }
    if ((component.resultDigest === undefined) !== (component.resultSize === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['resultSize'],
        message: 'resultDigest and resultSize go together',
      });
    }
  });

/**
 * Printable text only: no control or format characters (bidi overrides included) that could forge a log
 * line or hide content, no private-use characters, and no lone surrogate (I-JSON, so RFC 8785 can
 * canonicalise it). Unassigned code points pass: refusing them would make the verdict depend on the
 * Unicode version of the runtime, signer and meter alike.
 */
const description = z
  .string()
  .max(MAX_DESCRIPTION_CHARS)
  .regex(/^[^\p{Cc}\p{Cf}\p{Co}\p{Cs}]*$/u, 'printable text');

export const manifestSchema = z
  .strictObject({
    /** SUIT Version ID. */
    manifestVersion: z.literal(1),
    /** SUIT Monotonic Sequence Number: strictly increasing per (tenant, classId, component). */
    sequenceNumber: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    vendorId,
    classId,
    components: z.array(manifestComponent).min(1).max(MAX_COMPONENTS),
    /** SUIT Required Image Version List: the versions one of which must be installed first. */
    requires: z
      .strictObject({
        installedVersions: z
          .array(
            z.strictObject({
              id: componentIdentifier,
              versions: z.array(firmwareVersion).min(1).max(16),
            }),
          )
          .min(1)
          .max(MAX_COMPONENTS),
      })
      .optional(),
    /** SUIT Expiration Time; absent only on a flagged end-of-life image (RFC 9124 REQ.SEC.EXP). */
    expiresAt: utcInstant.optional(),
    endOfLife: z.literal(true).optional(),
    issuedAt: utcInstant,
    /** SUIT text: no personal data, no device ids. */
    description,
    provenance: z
      .strictObject({
        sourceDigest: sha256Hex,
        builder: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z ._:/@+-]{0,127}$/, 'builder'),
        sbomDigest: sha256Hex,
      })
      .optional(),
  })
  .superRefine((manifest, ctx) => {
    if (manifest.expiresAt === undefined && manifest.endOfLife !== true) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'required unless endOfLife is true' });
    }
    if (manifest.expiresAt !== undefined && Date.parse(manifest.expiresAt) <= Date.parse(manifest.issuedAt)) {
      ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be after issuedAt' });
    }
    const ids = manifest.components.map((c) => c.id[0]);
    if (new Set(ids).size !== ids.length) {
      ctx.addIssue({ code: 'custom', path: ['components'], message: 'a component is listed twice' });
    }
  });

export type FirmwareManifest = z.infer<typeof manifestSchema>;
export type ManifestComponent = z.infer<typeof manifestComponent>;
export type ImageDigest = z.infer<typeof imageDigest>;

/** The name a component goes by outside the manifest ("app", "metrology", "modem"). */
export const componentName = (component: Pick<ManifestComponent, 'id'>): string => component.id.join('/');

export const manifestSignature = z.strictObject({
  /** Lowercase hex SHA-256 of the signer's SubjectPublicKeyInfo DER. */
  keyId: sha256Hex,
  alg: z.literal('ES256'),
  /** base64url (unpadded) DER ECDSA signature over the manifest's JCS bytes. */
  sig: z.string().regex(BASE64URL, 'base64url DER signature'),
  /** base64url DER X.509 certificate of a delegated signing key, signed by a root key. */
  signingKeyCert: z
    .string()
    .min(1)
    .max(MAX_SIGNING_KEY_CERT_CHARS)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
});
export type ManifestSignature = z.infer<typeof manifestSignature>;

export const manifestEnvelopeSchema = z.strictObject({
  manifest: manifestSchema,
  signatures: z.array(manifestSignature).min(1).max(MAX_SIGNATURES),
});
export type ManifestEnvelope = z.infer<typeof manifestEnvelopeSchema>;
