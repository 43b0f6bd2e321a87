import { z } from 'zod';
import { endpointName } from '../events/common';
import { defineHttpRoute, httpError } from './http-route';

/**
 * Operators' routes on a meter's factory credential (enrollment, API key of an admin or operator of
 * the meter's tenant): revoke it (bootstrap then refuses it) or rotate it (a new certificate
 * fingerprint or PSK accepted, the old refused). The change reaches bootstrap on the meter's
 * `enrollment.devices.v1` record.
 */

const unauthenticated = httpError('UNAUTHENTICATED: no API key, a malformed, unknown or revoked one');
const forbidden = httpError("FORBIDDEN: the API key's role may not do this (admin or operator only)");
const notFound = httpError(
  "DEVICE_NOT_FOUND: no such device in this tenant (another tenant's answers the same)",
);
const decommissioned = httpError(
  'DEVICE_DECOMMISSIONED: a decommissioned meter keeps no credential; CREDENTIAL_UNCHANGED: the new credential is the current (or revoked) one',
);

/** A meter's factory credential as operators see it: by reference, never a PSK. */
export const factoryCredentialView = z.object({
  endpointName,
  credential: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('certificate'), fingerprintSha256: z.string() }),
    z.object({ kind: z.literal('psk'), pskIdentity: z.string() }),
  ]),
  revokedAt: z.iso
    .datetime({ offset: true })
    .nullable()
    .describe('When the credential was revoked (bootstrap refuses it); null while it is accepted'),
});
export type FactoryCredentialView = z.infer<typeof factoryCredentialView>;

const PSK_KEY_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The new credential: of the meter's own kind (a certificate meter stays one, a PSK meter too). */
export const factoryCredentialRotation = z.union([
  z.strictObject({
    certificateSha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'hex SHA-256 of the new factory certificate')
      .transform((hex) => hex.toLowerCase()),
  }),
  z.strictObject({
    pskKeyBase64: z
      .string()
      .max(88)
      .regex(PSK_KEY_BASE64, 'base64')
      .refine((text) => {
        const bytes = Buffer.from(text, 'base64').length;
        return bytes >= 16 && bytes <= 64;
      }, 'a key of 16-64 bytes')
      .describe('The new PSK, 16-64 bytes; stored encrypted, never returned or logged'),
  }),
]);
export type FactoryCredentialRotation = z.infer<typeof factoryCredentialRotation>;

const params = { endpoint: endpointName };
const example = {
  endpointName: 'MTR-000001',
  credential: {
    kind: 'certificate',
    fingerprintSha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  },
} as const;

export const FACTORY_CREDENTIAL_REVOKE = defineHttpRoute({
  name: 'enrollment.factory-credentials.revoke',
  audience: 'operator',
  method: 'POST',
  path: '/v1/devices/:endpoint/factory-credential/revocation',
  summary: "Revoke a meter's factory credential: bootstrap refuses it from then on (a PSK is destroyed)",
  description: 'Idempotent: revoking a revoked credential changes nothing. Audited.',
  params,
  responses: {
    200: factoryCredentialView,
    401: unauthenticated,
    403: forbidden,
    404: notFound,
    409: decommissioned,
  },
  examples: [
    {
      title: 'a certificate meter',
      params: { endpoint: 'MTR-000001' },
      status: 200,
      response: { ...example, revokedAt: '2026-12-02T10:00:00.000Z' },
    },
    {
      title: "another tenant's meter",
      params: { endpoint: 'MTR-000002' },
      status: 404,
      response: { code: 'DEVICE_NOT_FOUND', message: 'No such device' },
    },
  ],
});

export const FACTORY_CREDENTIAL_ROTATE = defineHttpRoute({
  name: 'enrollment.factory-credentials.rotate',
  audience: 'operator',
  method: 'PUT',
  path: '/v1/devices/:endpoint/factory-credential',
  summary: "Rotate a meter's factory credential: the new one is accepted at bootstrap, the old refused",
  description:
    'A certificate meter takes a new fingerprint, a PSK meter a new key (same identity). Also ends a revocation. Audited.',
  params,
  request: factoryCredentialRotation,
  responses: {
    200: factoryCredentialView,
    400: httpError('INVALID_REQUEST, CREDENTIAL_KIND_MISMATCH: not a credential of this meter’s kind'),
    401: unauthenticated,
    403: forbidden,
    404: notFound,
    409: decommissioned,
  },
  examples: [
    {
      title: 'a new factory certificate',
      params: { endpoint: 'MTR-000001' },
      request: { certificateSha256: example.credential.fingerprintSha256 },
      status: 200,
      response: { ...example, revokedAt: null },
    },
    {
      title: 'the credential it already has',
      params: { endpoint: 'MTR-000001' },
      request: { certificateSha256: example.credential.fingerprintSha256 },
      status: 409,
      response: { code: 'CREDENTIAL_UNCHANGED', message: 'The new credential must differ from the old' },
    },
  ],
});
