import { z } from 'zod';
import { sha256Hex } from '../events/common';
import { defineHttpRoute, httpError } from './http-route';
import { otaComponentId, otaFailureCode } from '../events/ota-firmware-common';
import { OTA_EXECUTION_STATES } from '../events/ota-device-status-v2.event';

/**
 * Operators' firmware routes on the OTA distributor (API key of the tenant; admin, operator, auditor):
 * device classes with their image size cap, the tenant's update authorities (the P-256 public keys
 * manifests are signed with, offline), and firmware images uploaded through presigned multipart S3
 * uploads and verified server-side (SHA-256 and size) before anything may reference them.
 */

const MIB = 1024 * 1024;
/** No class may raise its image cap above this (hawkBit's default artifact cap is 1 GiB). */
export const OTA_IMAGE_BYTES_CEILING = 1024 * MIB;
/** A P-256 SPKI PEM is 178 characters; a request's key is read only up to this. */
export const UPDATE_AUTHORITY_PEM_MAX_CHARS = 4_096;
/** At most this many parts in one image upload (S3 allows 10,000). */
export const OTA_UPLOAD_MAX_PARTS = 1_000;

/** Names the factory also writes into bundles (vendor and class ids): the factory-bundle rule. */
const identifier = (what: string) => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, what);
export const otaVendorId = identifier('vendor id');
export const otaClassId = identifier('class id');
export const updateAuthorityKeyId = sha256Hex.describe('Hex SHA-256 of the public key (SPKI DER)');
export const firmwareImageId = z.uuid({ version: 'v4' }).describe('Image id (UUID v4)');
const timestamp = z.iso.datetime({ offset: true });

const unauthenticated = httpError('UNAUTHENTICATED: no API key, a malformed, unknown or revoked one');
const forbiddenAdmin = httpError("FORBIDDEN: the API key's role may not do this (admin only)");
const forbiddenWriter = httpError("FORBIDDEN: the API key's role may not do this (admin or operator only)");
const invalid = httpError('INVALID_REQUEST: the body or a parameter breaks the contract');

// Device classes.

export const deviceClassUpsert = z.strictObject({
  vendorId: otaVendorId,
  maxImageBytes: z
    .number()
    .int()
    .positive()
    .max(OTA_IMAGE_BYTES_CEILING)
    .optional()
    .describe('Largest image of this class, bytes; the distributor default (OTA_MAX_IMAGE_BYTES) if absent'),
});
export type DeviceClassUpsert = z.infer<typeof deviceClassUpsert>;

export const deviceClassView = z.object({
  classId: otaClassId,
  vendorId: otaVendorId,
  maxImageBytes: z.number().int().positive(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type DeviceClassView = z.infer<typeof deviceClassView>;

const classExample = {
  classId: 'em300',
  vendorId: 'acme-meters',
  maxImageBytes: 32 * MIB,
  createdAt: '2026-12-02T10:00:00.000Z',
  updatedAt: '2026-12-02T10:00:00.000Z',
} as const;

export const OTA_DEVICE_CLASS_PUT = defineHttpRoute({
  name: 'ota-distributor.device-classes.put',
  audience: 'operator',
  method: 'PUT',
  path: '/v1/firmware/classes/:classId',
  summary: 'Declare a device class (vendor, image size cap) or change it',
  description: 'Idempotent. The vendor of a class never changes (409 CLASS_VENDOR_MISMATCH). Admin only.',
  params: { classId: otaClassId },
  request: deviceClassUpsert,
  responses: {
    200: deviceClassView,
    400: invalid,
    401: unauthenticated,
    403: forbiddenAdmin,
    409: httpError('CLASS_VENDOR_MISMATCH: the class exists with another vendor'),
  },
  examples: [
    {
      title: 'a class with the default cap',
      params: { classId: 'em300' },
      request: { vendorId: 'acme-meters' },
      status: 200,
      response: classExample,
    },
  ],
});

// Update authorities.

export const updateAuthorityRegistration = z.strictObject({
  publicKeyPem: z
    .string()
    .min(1)
    .max(UPDATE_AUTHORITY_PEM_MAX_CHARS)
    .describe('The P-256 public key, PEM (SPKI, "PUBLIC KEY"); a private key is refused and never logged'),
});
export type UpdateAuthorityRegistration = z.infer<typeof updateAuthorityRegistration>;

export const updateAuthorityView = z.object({
  keyId: updateAuthorityKeyId,
  publicKeyPem: z.string(),
  algorithm: z.literal('ES256'),
  registeredAt: timestamp,
  revokedAt: timestamp.nullable(),
});
export type UpdateAuthorityView = z.infer<typeof updateAuthorityView>;

const authorityExample = {
  keyId: '3b2c1f0e9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa9988',
  publicKeyPem:
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...\n-----END PUBLIC KEY-----\n',
  algorithm: 'ES256',
  registeredAt: '2026-12-02T10:00:00.000Z',
  revokedAt: null,
} as const;

export const OTA_UPDATE_AUTHORITY_REGISTER = defineHttpRoute({
  name: 'ota-distributor.update-authorities.register',
  audience: 'operator',
  method: 'POST',
  path: '/v1/firmware/update-authorities',
  summary: "Register one of the tenant's update authorities: a P-256 public key manifests are signed with",
  description:
    'Public keys only: a private key is refused (422 PRIVATE_KEY_REFUSED) and none of it is logged. Registering a registered key answers it (200). Admin only; audited.',
  request: updateAuthorityRegistration,
  responses: {
    200: updateAuthorityView,
    201: updateAuthorityView,
    400: invalid,
    401: unauthenticated,
    403: forbiddenAdmin,
    409: httpError('UPDATE_AUTHORITY_REVOKED: this key was revoked and cannot come back'),
    422: httpError(
      'PRIVATE_KEY_REFUSED: a private key was sent; KEY_UNREADABLE: not one PEM public key; KEY_TYPE_UNSUPPORTED: not an EC P-256 key',
    ),
  },
  examples: [
    {
      title: 'a new key',
      request: { publicKeyPem: authorityExample.publicKeyPem },
      status: 201,
      response: authorityExample,
    },
    {
      title: 'a key registered already',
      request: { publicKeyPem: authorityExample.publicKeyPem },
      status: 200,
      response: authorityExample,
    },
    {
      title: 'a private key',
      request: { publicKeyPem: '-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----\n' },
      status: 422,
      response: { code: 'PRIVATE_KEY_REFUSED', message: 'Only public keys are accepted' },
    },
  ],
});

export const OTA_UPDATE_AUTHORITY_REVOKE = defineHttpRoute({
  name: 'ota-distributor.update-authorities.revoke',
  audience: 'operator',
  method: 'POST',
  path: '/v1/firmware/update-authorities/:keyId/revoke',
  summary: 'Revoke an update authority: manifests signed by it are refused from now on',
  description:
    'Final and idempotent: revoking a revoked key answers its first revocation. Admin only; audited.',
  params: { keyId: updateAuthorityKeyId },
  responses: {
    200: updateAuthorityView,
    400: invalid,
    401: unauthenticated,
    403: forbiddenAdmin,
    404: httpError("UPDATE_AUTHORITY_NOT_FOUND (another tenant's key answers the same)"),
  },
  examples: [
    {
      title: 'a registered key',
      params: { keyId: authorityExample.keyId },
      status: 200,
      response: { ...authorityExample, revokedAt: '2026-12-03T10:00:00.000Z' },
    },
  ],
});

export const updateAuthorityList = z.object({ items: z.array(updateAuthorityView) });

export const OTA_UPDATE_AUTHORITY_LIST = defineHttpRoute({
  name: 'ota-distributor.update-authorities.list',
  audience: 'operator',
  method: 'GET',
  path: '/v1/firmware/update-authorities',
  summary: "The tenant's update authorities, revoked ones included, oldest first",
  responses: { 200: updateAuthorityList, 401: unauthenticated },
  examples: [{ title: 'one key', status: 200, response: { items: [authorityExample] } }],
});

// Firmware images.

export const firmwareImageCreate = z.strictObject({
  classId: otaClassId,
  component: otaComponentId,
  size: z.number().int().positive().max(OTA_IMAGE_BYTES_CEILING),
  sha256: sha256Hex,
});
export type FirmwareImageCreate = z.infer<typeof firmwareImageCreate>;

export const firmwareImageState = z.enum(['pending', 'verifying', 'verified', 'refused']);

export const firmwareImageView = z.object({
  imageId: firmwareImageId,
  classId: otaClassId,
  component: otaComponentId,
  sha256: sha256Hex,
  size: z.number().int().positive(),
  state: firmwareImageState,
  refusalCode: z.string().nullable().describe('When refused: DIGEST_MISMATCH or SIZE_MISMATCH'),
  createdAt: timestamp,
  updatedAt: timestamp,
  verifiedAt: timestamp.nullable(),
});
export type FirmwareImageView = z.infer<typeof firmwareImageView>;

export const presignedUpload = z.object({
  partSize: z.number().int().positive().describe('Bytes of every part but the last'),
  expiresAt: timestamp,
  parts: z
    .array(
      z.object({
        partNumber: z.number().int().positive(),
        size: z.number().int().positive().describe('Exactly this many bytes (the URL signs the length)'),
        url: z.url().describe('PUT the part here; the answer’s ETag header goes into complete'),
      }),
    )
    .min(1),
});

export const firmwareImageUpload = z.object({
  image: firmwareImageView,
  upload: presignedUpload
    .nullable()
    .describe('Null when an image with this digest is verified already: that image is the answer'),
});
export type FirmwareImageUpload = z.infer<typeof firmwareImageUpload>;

const imageExample = {
  imageId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  classId: 'em300',
  component: 'app',
  sha256: 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb',
  size: 20 * MIB,
  state: 'pending',
  refusalCode: null,
  createdAt: '2026-12-02T10:00:00.000Z',
  updatedAt: '2026-12-02T10:00:00.000Z',
  verifiedAt: null,
} as const;
const verifiedExample = {
  ...imageExample,
  state: 'verified',
  updatedAt: '2026-12-02T10:01:00.000Z',
  verifiedAt: '2026-12-02T10:01:00.000Z',
} as const;

export const OTA_IMAGE_CREATE = defineHttpRoute({
  name: 'ota-distributor.images.create',
  audience: 'operator',
  method: 'POST',
  path: '/v1/firmware/images',
  summary: 'Start a firmware image upload: one presigned S3 PUT URL per part (multipart upload)',
  description:
    'The URLs are secrets of the caller: never logged. An image of this class and component with this digest verified already is answered as is (200, no upload).',
  request: firmwareImageCreate,
  responses: {
    200: firmwareImageUpload,
    201: firmwareImageUpload,
    400: invalid,
    401: unauthenticated,
    403: forbiddenWriter,
    404: httpError('CLASS_NOT_FOUND: no such device class in this tenant'),
    413: httpError("SIZE_EXCEEDED: larger than the class's maxImageBytes"),
    422: httpError('SIZE_MISMATCH: an image with this digest is verified with another size'),
  },
  examples: [
    {
      title: 'a 20 MiB image in 8 MiB parts',
      request: { classId: 'em300', component: 'app', size: 20 * MIB, sha256: imageExample.sha256 },
      status: 201,
      response: {
        image: imageExample,
        upload: {
          partSize: 8 * MIB,
          expiresAt: '2026-12-02T10:15:00.000Z',
          parts: [1, 2, 3].map((partNumber) => ({
            partNumber,
            size: partNumber < 3 ? 8 * MIB : 4 * MIB,
            url: `https://s3.example/firmware/tenants/acme/firmware/staging/x?partNumber=${partNumber}`,
          })),
        },
      },
    },
    {
      title: 'the digest is verified already',
      request: { classId: 'em300', component: 'app', size: 20 * MIB, sha256: imageExample.sha256 },
      status: 200,
      response: { image: verifiedExample, upload: null },
    },
    {
      title: 'over the class cap',
      request: { classId: 'em300', component: 'app', size: 40 * MIB, sha256: imageExample.sha256 },
      status: 413,
      response: { code: 'SIZE_EXCEEDED', message: 'Class em300 takes images of at most 33554432 bytes' },
    },
  ],
});

export const firmwareImageComplete = z.strictObject({
  parts: z
    .array(
      z.strictObject({
        partNumber: z.number().int().min(1).max(OTA_UPLOAD_MAX_PARTS),
        etag: z.string().min(1).max(128),
      }),
    )
    .min(1)
    .max(OTA_UPLOAD_MAX_PARTS),
});
export type FirmwareImageComplete = z.infer<typeof firmwareImageComplete>;

export const OTA_IMAGE_COMPLETE = defineHttpRoute({
  name: 'ota-distributor.images.complete',
  audience: 'operator',
  method: 'POST',
  path: '/v1/firmware/images/:imageId/complete',
  summary: 'Finish an upload: the distributor recomputes SHA-256 and size and verifies or refuses the image',
  description:
    'A verified image is stored content-addressed (never overwritten); a refused one is deleted. Both are audited (ota.image-verified, ota.image-refused).',
  params: { imageId: firmwareImageId },
  request: firmwareImageComplete,
  responses: {
    200: firmwareImageView,
    400: invalid,
    401: unauthenticated,
    403: forbiddenWriter,
    404: httpError("IMAGE_NOT_FOUND (another tenant's image answers the same)"),
    409: httpError('IMAGE_NOT_PENDING: verified, refused, or being verified by another request'),
    422: httpError(
      'DIGEST_MISMATCH, SIZE_MISMATCH: the uploaded bytes are not the declared image (refused, deleted); UPLOAD_PARTS_INVALID: S3 refused the part list (retry with the right ETags)',
    ),
  },
  examples: [
    {
      title: 'the bytes match',
      params: { imageId: imageExample.imageId },
      request: { parts: [{ partNumber: 1, etag: '"7ca79ae5558115f6feb325614517b862"' }] },
      status: 200,
      response: verifiedExample,
    },
    {
      title: 'one byte differs',
      params: { imageId: imageExample.imageId },
      request: { parts: [{ partNumber: 1, etag: '"7ca79ae5558115f6feb325614517b862"' }] },
      status: 422,
      response: { code: 'DIGEST_MISMATCH', message: 'The uploaded bytes do not have the declared SHA-256' },
    },
  ],
});

export const OTA_IMAGE_GET = defineHttpRoute({
  name: 'ota-distributor.images.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/firmware/images/:imageId',
  summary: 'A firmware image: its state, digest and size',
  params: { imageId: firmwareImageId },
  responses: {
    200: firmwareImageView,
    400: invalid,
    401: unauthenticated,
    404: httpError("IMAGE_NOT_FOUND (another tenant's image answers the same)"),
  },
  examples: [
    { title: 'verified', params: { imageId: imageExample.imageId }, status: 200, response: verifiedExample },
  ],
});

// Signed manifests.

/** Envelope bytes read at most (libs/firmware's MAX_ENVELOPE_BYTES): a larger body is 413 unread. */
export const OTA_MANIFEST_ENVELOPE_MAX_BYTES = 64 * 1024;
export const firmwareManifestId = z.uuid({ version: 'v4' }).describe('Manifest id (UUID v4)');

/**
 * The signed envelope as operators send it, for documentation: the distributor reads the exact bytes and
 * checks them with @meterkeep/firmware's strict schema (spec §5.1), which refuses any unknown field.
 */
export const firmwareManifestEnvelope = z
  .object({
    manifest: z
      .record(z.string(), z.unknown())
      .describe('The manifest (spec §5.1), signed in its RFC 8785 form'),
    signatures: z
      .array(
        z.object({
          keyId: sha256Hex,
          alg: z.literal('ES256'),
          sig: z.string(),
          signingKeyCert: z.string().optional(),
        }),
      )
      .min(1)
      .max(4),
  })
  .describe('The exact bytes the offline signer wrote (content-type application/json, at most 64 KiB)');

export const firmwareManifestState = z.enum(['accepted', 'revoked']);

const manifestDigestRef = z.object({ alg: z.literal('sha-256'), value: sha256Hex });

export const firmwareManifestView = z.object({
  manifestId: firmwareManifestId,
  manifestDigest: sha256Hex.describe(
    'SHA-256 of the canonical manifest bytes: what signatures and directives name',
  ),
  envelopeSha256: sha256Hex.describe('SHA-256 of the exact envelope bytes received and stored'),
  classId: otaClassId,
  vendorId: otaVendorId,
  sequenceNumber: z.number().int().nonnegative(),
  components: z
    .array(
      z.object({
        id: otaComponentId,
        version: z.string(),
        format: z.string(),
        digest: manifestDigestRef,
        size: z.number().int().positive(),
        precursorDigest: manifestDigestRef.optional(),
        resultDigest: manifestDigestRef.optional(),
        resultSize: z.number().int().positive().optional(),
      }),
    )
    .min(1),
  issuedAt: timestamp,
  expiresAt: timestamp.nullable().describe('Null only for a manifest flagged endOfLife'),
  signerKeyIds: z
    .array(sha256Hex)
    .min(1)
    .describe('Key ids whose signatures verified (roots or delegated keys)'),
  state: firmwareManifestState,
  acceptedAt: timestamp,
  revokedAt: timestamp.nullable(),
});
export type FirmwareManifestView = z.infer<typeof firmwareManifestView>;

const manifestExample: FirmwareManifestView = {
  manifestId: '7d444840-9dc0-41ab-8b1c-fc2e8f2a6c10',
  manifestDigest: '5f2b1c7e0d9a8b6c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d',
  envelopeSha256: '9a0c5e2b7d41f3a8c6e9b2d5f8a1c4e7b0d3f6a9c2e5b8d1f4a7c0e3b6d9f2a5',
  classId: 'em300',
  vendorId: 'acme-meters',
  sequenceNumber: 43,
  components: [
    {
      id: 'app',
      version: '4.3.0',
      format: 'raw',
      digest: { alg: 'sha-256', value: imageExample.sha256 },
      size: 20 * MIB,
    },
  ],
  issuedAt: '2026-12-02T09:00:00.000Z',
  expiresAt: '2027-03-02T09:00:00.000Z',
  signerKeyIds: [authorityExample.keyId],
  state: 'accepted',
  acceptedAt: '2026-12-02T10:05:00.000Z',
  revokedAt: null,
};

const envelopeExample: z.input<typeof firmwareManifestEnvelope> = {
  manifest: {
    manifestVersion: 1,
    sequenceNumber: 43,
    vendorId: 'acme-meters',
    classId: 'em300',
    components: [manifestExample.components[0]],
    issuedAt: manifestExample.issuedAt,
    expiresAt: manifestExample.expiresAt,
    description: 'Tariff table fix',
  },
  signatures: [{ keyId: authorityExample.keyId, alg: 'ES256', sig: 'MEUCIQDx…' }],
};

const manifestRefusals = httpError(
  'The manifest is refused (audited ota.manifest-refused), with its code: MANIFEST_MALFORMED, MANIFEST_SIGNATURE_INVALID (no registered unrevoked update authority signed it, or a signature fails), SIGNING_KEY_REVOKED, MANIFEST_SIGNATURES_INSUFFICIENT, FORMAT_UNSUPPORTED, COMPONENT_UNKNOWN, CLASS_MISMATCH (no such class in this tenant), VENDOR_MISMATCH, IMAGE_NOT_VERIFIED, DIGEST_MISMATCH (no verified image of the class and component has the digest), SIZE_MISMATCH, SEQUENCE_ROLLBACK (not above every accepted sequence of a component of the class), MANIFEST_EXPIRED',
);

export const OTA_MANIFEST_ACCEPT = defineHttpRoute({
  name: 'ota-distributor.manifests.accept',
  audience: 'operator',
  method: 'POST',
  path: '/v1/firmware/manifests',
  summary: 'Submit a signed manifest envelope (the exact bytes of the offline signer): accepted or refused',
  description:
    'The body is read as bytes (application/json, at most 64 KiB, else 413 MANIFEST_TOO_LARGE) and stored exactly as received, content-addressed and never overwritten. The same bytes again answer the same manifest (200). Accepted manifests never change; revocation is the only transition.',
  request: firmwareManifestEnvelope,
  responses: {
    200: firmwareManifestView,
    201: firmwareManifestView,
    400: invalid,
    401: unauthenticated,
    403: forbiddenWriter,
    409: httpError(
      'MANIFEST_ALREADY_ACCEPTED: this manifest was accepted in another envelope (other signatures)',
    ),
    413: httpError('MANIFEST_TOO_LARGE: the body exceeds 64 KiB; nothing was parsed'),
    415: httpError('UNSUPPORTED_MEDIA_TYPE: the body must be application/json, not encoded'),
    422: manifestRefusals,
  },
  examples: [
    { title: 'a new manifest', request: envelopeExample, status: 201, response: manifestExample },
    { title: 'the same bytes again', request: envelopeExample, status: 200, response: manifestExample },
    {
      title: 'a sequence number already used',
      request: envelopeExample,
      status: 422,
      response: {
        code: 'SEQUENCE_ROLLBACK',
        message: 'Component app of class em300 has an accepted manifest with sequence 43 already',
      },
    },
  ],
});

export const OTA_MANIFEST_GET = defineHttpRoute({
  name: 'ota-distributor.manifests.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/firmware/manifests/:manifestId',
  summary: 'An accepted (or revoked) manifest: its class, sequence, components and signers',
  params: { manifestId: firmwareManifestId },
  responses: {
    200: firmwareManifestView,
    400: invalid,
    401: unauthenticated,
    404: httpError("MANIFEST_NOT_FOUND (another tenant's manifest answers the same)"),
  },
  examples: [
    {
      title: 'accepted',
      params: { manifestId: manifestExample.manifestId },
      status: 200,
      response: manifestExample,
    },
  ],
});

export const OTA_MANIFEST_ENVELOPE_GET = defineHttpRoute({
  name: 'ota-distributor.manifests.envelope',
  audience: 'operator',
  method: 'GET',
  path: '/v1/firmware/manifests/:manifestId/envelope',
  summary: 'The exact signed envelope bytes the manifest was accepted from (application/json)',
  params: { manifestId: firmwareManifestId },
  responses: {
    200: firmwareManifestEnvelope,
    400: invalid,
    401: unauthenticated,
    404: httpError("MANIFEST_NOT_FOUND (another tenant's manifest answers the same)"),
  },
  examples: [
    {
      title: 'the bytes',
      params: { manifestId: manifestExample.manifestId },
      status: 200,
      response: envelopeExample,
    },
  ],
});

export const OTA_MANIFEST_REVOKE = defineHttpRoute({
  name: 'ota-distributor.manifests.revoke',
  audience: 'operator',
  method: 'POST',
  path: '/v1/firmware/manifests/:manifestId/revoke',
  summary: 'Revoke a manifest: it is never offered again (ota.firmware.v1 revoked)',
  description:
    'Final and idempotent: revoking a revoked manifest answers its first revocation. The only change an accepted manifest admits. ' +
    'Its executions that have installed nothing yet (QUEUED to VERIFIED) become CANCELLED in the same transaction (on ota.device-status.v2); installs under way finish. ' +
    'Admin only; audited (ota.manifest-revoked, with the count cancelled).',
  params: { manifestId: firmwareManifestId },
  responses: {
    200: firmwareManifestView,
    400: invalid,
    401: unauthenticated,
    403: forbiddenAdmin,
    404: httpError("MANIFEST_NOT_FOUND (another tenant's manifest answers the same)"),
  },
  examples: [
    {
      title: 'an accepted manifest',
      params: { manifestId: manifestExample.manifestId },
      status: 200,
      response: { ...manifestExample, state: 'revoked', revokedAt: '2026-12-03T10:00:00.000Z' },
    },
  ],
});

// Deployments: a manifest to an explicit list of devices (campaigns grow out of this, issue #13).

/** Most devices one deployment names; larger fleets are campaigns. */
export const OTA_DEPLOYMENT_MAX_DEVICES = 10_000;
export const firmwareDeploymentId = z.uuid({ version: 'v4' }).describe('Deployment id (UUID v4)');
const deviceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'endpoint name');
const utcInstant = z.iso.datetime({ offset: false });

export const firmwareDeploymentCreate = z
  .strictObject({
    manifestId: firmwareManifestId,
    /**
     * With a manifest carrying deltas: a full-image manifest of the same release (same class and
     * components, each full image the delta's result). Meters not running every delta's precursor are
     * directed to it instead (THREAT.UPD.WRONG_PRECURSOR).
     */
    fallbackManifestId: firmwareManifestId.optional(),
    deviceIds: z
      .array(deviceId)
      .min(1)
      .max(OTA_DEPLOYMENT_MAX_DEVICES)
      .refine((ids) => new Set(ids).size === ids.length, 'each device once'),
    actionType: z.enum(['soft', 'forced', 'timeforced', 'downloadonly']).default('soft'),
    /** Required exactly when actionType is timeforced. */
    forceAt: utcInstant.optional(),
    /** A maintenance window (UTC instants): install only inside it. */
    window: z.strictObject({ startsAt: utcInstant, endsAt: utcInstant }).optional(),
  })
  .refine((d) => (d.actionType === 'timeforced') === (d.forceAt !== undefined), {
    path: ['forceAt'],
    message: 'present exactly when actionType is timeforced',
  })
  .refine((d) => !d.window || Date.parse(d.window.endsAt) > Date.parse(d.window.startsAt), {
    path: ['window', 'endsAt'],
    message: 'after startsAt',
  });
export type FirmwareDeploymentCreate = z.input<typeof firmwareDeploymentCreate>;

export const firmwareDeploymentView = z.object({
  deploymentId: firmwareDeploymentId,
  manifestId: firmwareManifestId,
  manifestDigest: sha256Hex,
  classId: otaClassId,
  sequenceNumber: z.number().int().nonnegative(),
  actionType: z.enum(['soft', 'forced', 'timeforced', 'downloadonly']),
  state: z.enum(['RUNNING', 'COMPLETED', 'CANCELLED']),
  /** Executions by state (spec §6.4); states with none are absent. */
  counts: z.record(z.string(), z.number().int().nonnegative()),
  createdAt: timestamp,
  createdBy: z.string(),
});
export type FirmwareDeploymentView = z.infer<typeof firmwareDeploymentView>;

const deploymentExample: FirmwareDeploymentView = {
  deploymentId: '2b7f0c39-8a51-4d0e-9d8e-6a3c1f5b7e20',
  manifestId: manifestExample.manifestId,
  manifestDigest: manifestExample.manifestDigest,
  classId: 'em300',
  sequenceNumber: 43,
  actionType: 'soft',
  state: 'RUNNING',
  counts: { QUEUED: 8, DOWNLOADING: 1, SUCCEEDED: 1 },
  createdAt: '2026-12-02T10:10:00.000Z',
  createdBy: 'key-4f2a',
};

export const OTA_DEPLOYMENT_CREATE = defineHttpRoute({
  name: 'ota-distributor.deployments.create',
  audience: 'operator',
  method: 'POST',
  path: '/v1/firmware/deployments',
  summary: 'Deploy an accepted manifest to an explicit list of devices',
  description:
    'One execution per device; each sees a directive at its next check-in. Devices not enrolled ACTIVE in ' +
    'the class are refused by name (422 DEVICES_NOT_ELIGIBLE). Admin or operator.',
  request: firmwareDeploymentCreate,
  responses: {
    201: firmwareDeploymentView,
    400: invalid,
    401: unauthenticated,
    403: forbiddenWriter,
    404: httpError('MANIFEST_NOT_FOUND: no manifest of this tenant has that id'),
    409: httpError('MANIFEST_REVOKED: the manifest was revoked'),
    422: httpError(
      'DEVICES_NOT_ELIGIBLE: devices unknown to this tenant, not ACTIVE, or with an unfinished execution (listed in the message)',
    ),
  },
  examples: [
    {
      title: 'ten meters',
      request: { manifestId: manifestExample.manifestId, deviceIds: ['MTR-000001', 'MTR-000002'] },
      status: 201,
      response: { ...deploymentExample, counts: { QUEUED: 2 } },
    },
  ],
});

export const OTA_DEPLOYMENT_GET = defineHttpRoute({
  name: 'ota-distributor.deployments.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/firmware/deployments/:deploymentId',
  summary: 'A deployment with its executions counted by state',
  params: { deploymentId: firmwareDeploymentId },
  responses: {
    200: firmwareDeploymentView,
    400: invalid,
    401: unauthenticated,
    404: httpError('DEPLOYMENT_NOT_FOUND: no deployment of this tenant has that id'),
  },
  examples: [
    {
      title: 'under way',
      params: { deploymentId: deploymentExample.deploymentId },
      status: 200,
      response: deploymentExample,
    },
  ],
});

export const firmwareExecutionView = z.object({
  executionId: z.string(),
  deviceId,
  state: z.enum(OTA_EXECUTION_STATES),
  attempt: z.number().int().min(1),
  failureCode: otaFailureCode.nullable(),
  updatedAt: timestamp,
});
export type FirmwareExecutionView = z.infer<typeof firmwareExecutionView>;

export const firmwareExecutionPage = z.object({
  items: z.array(firmwareExecutionView),
  /** Pass as `after` for the next page; absent on the last. */
  next: z.string().optional(),
});

export const OTA_DEPLOYMENT_EXECUTIONS = defineHttpRoute({
  name: 'ota-distributor.deployments.executions',
  audience: 'operator',
  method: 'GET',
  path: '/v1/firmware/deployments/:deploymentId/executions',
  summary: "A deployment's executions, by device id (keyset pages)",
  params: { deploymentId: firmwareDeploymentId },
  query: z.strictObject({
    state: z.enum(OTA_EXECUTION_STATES).optional(),
    after: deviceId.optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  }) as unknown as z.ZodType<Record<string, unknown>, Record<string, string>>,
  responses: {
    200: firmwareExecutionPage,
    400: invalid,
    401: unauthenticated,
    404: httpError('DEPLOYMENT_NOT_FOUND: no deployment of this tenant has that id'),
  },
  examples: [
    {
      title: 'first page',
      params: { deploymentId: deploymentExample.deploymentId },
      query: { limit: '2' },
      status: 200,
      response: {
        items: [
          {
            executionId: 'exe-000001',
            deviceId: 'MTR-000001',
            state: 'SUCCEEDED',
            attempt: 1,
            failureCode: null,
            updatedAt: '2026-12-02T10:30:00.000Z',
          },
        ],
      },
    },
  ],
});

export const deviceFirmwareView = z.object({
  deviceId,
  /** Null until a receipt confirmed a boot of firmware Meterkeep delivered. */
  installed: z
    .object({
      manifestDigest: sha256Hex,
      sequenceNumber: z.number().int().nonnegative(),
      components: z.array(z.object({ id: otaComponentId, version: z.string(), digest: sha256Hex })),
      bootedSlot: z.enum(['A', 'B']),
      confirmedAt: timestamp,
      receiptDigest: sha256Hex,
    })
    .nullable(),
  /** The execution under way, if any. */
  active: firmwareExecutionView.extend({ deploymentId: firmwareDeploymentId }).nullable(),
});
export type DeviceFirmwareView = z.infer<typeof deviceFirmwareView>;

export const OTA_DEVICE_FIRMWARE_GET = defineHttpRoute({
  name: 'ota-distributor.devices.firmware',
  audience: 'operator',
  method: 'GET',
  path: '/v1/firmware/devices/:deviceId',
  summary: 'The firmware a device runs (from its last install receipt) and its execution under way',
  params: { deviceId },
  responses: {
    200: deviceFirmwareView,
    400: invalid,
    401: unauthenticated,
    404: httpError('DEVICE_NOT_FOUND: this tenant has no such device'),
  },
  examples: [
    {
      title: 'after an update',
      params: { deviceId: 'MTR-000001' },
      status: 200,
      response: {
        deviceId: 'MTR-000001',
        installed: {
          manifestDigest: manifestExample.manifestDigest,
          sequenceNumber: 43,
          components: [{ id: 'app', version: '4.3.0', digest: imageExample.sha256 }],
          bootedSlot: 'B',
          confirmedAt: '2026-12-02T10:30:00.000Z',
          receiptDigest: '9a0c5e2b7d41f3a8c6e9b2d5f8a1c4e7b0d3f6a9c2e5b8d1f4a7c0e3b6d9f2a5',
        },
        active: null,
      },
    },
  ],
});

// Compliance (spec §6.9; Azure Device Update's three counts).

export const firmwareComplianceClass = z.object({
  classId: otaClassId,
  /** The accepted, unrevoked, unexpired manifest with the highest sequence; null when there is none. */
  latest: z.object({ manifestId: z.string(), sequenceNumber: z.number().int().nonnegative() }).nullable(),
  /** ACTIVE meters of the class. */
  total: z.number().int().nonnegative(),
  /** A receipt proves they run the latest sequence or a later one (all of them while there is no latest). */
  onLatest: z.number().int().nonnegative(),
  /** Not on the latest, with an execution under way. */
  updateInProgress: z.number().int().nonnegative(),
  /** Not on the latest and nothing under way: what a campaign would still reach. */
  newUpdateAvailable: z.number().int().nonnegative(),
});
export type FirmwareComplianceClass = z.infer<typeof firmwareComplianceClass>;

export const firmwareCompliance = z.object({
  classes: z.array(firmwareComplianceClass),
  asOf: timestamp,
});
export type FirmwareCompliance = z.infer<typeof firmwareCompliance>;

export const OTA_COMPLIANCE_GET = defineHttpRoute({
  name: 'ota-distributor.compliance.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/compliance',
  summary:
    "The fleet's firmware compliance per device class: on latest, update in progress, update available",
  description:
    'Counts ACTIVE meters by what their install receipts prove, against the highest-sequence manifest ' +
    'of their class that is accepted and neither revoked nor expired. Every role.',
  query: z.strictObject({ classId: otaClassId.optional() }),
  responses: {
    200: firmwareCompliance,
    400: invalid,
    401: unauthenticated,
  },
  examples: [
    {
      title: 'one class, mid-campaign',
      query: { classId: 'em300' },
      status: 200,
      response: {
        classes: [
          {
            classId: 'em300',
            latest: { manifestId: manifestExample.manifestId, sequenceNumber: 43 },
            total: 1000,
            onLatest: 612,
            updateInProgress: 88,
            newUpdateAvailable: 300,
          },
        ],
        asOf: '2026-12-02T10:30:00.000Z',
      },
    },
  ],
});

/** Every operator route of the OTA distributor. */
export const OTA_OPERATOR_ROUTES = [
  OTA_DEVICE_CLASS_PUT,
  OTA_UPDATE_AUTHORITY_REGISTER,
  OTA_UPDATE_AUTHORITY_REVOKE,
  OTA_UPDATE_AUTHORITY_LIST,
  OTA_IMAGE_CREATE,
  OTA_IMAGE_COMPLETE,
  OTA_IMAGE_GET,
  OTA_MANIFEST_ACCEPT,
  OTA_MANIFEST_GET,
  OTA_MANIFEST_ENVELOPE_GET,
  OTA_MANIFEST_REVOKE,
  OTA_DEPLOYMENT_CREATE,
  OTA_DEPLOYMENT_GET,
  OTA_DEPLOYMENT_EXECUTIONS,
  OTA_DEVICE_FIRMWARE_GET,
  OTA_COMPLIANCE_GET,
] as const;
