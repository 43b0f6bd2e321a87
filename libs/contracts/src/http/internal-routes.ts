import { isIP } from 'node:net';
import { z } from 'zod';
import { endpointName } from '../events/common';
import { defineHttpRoute, httpError } from './http-route';

/**
 * The internal service-to-service routes: served only on each service's internal listener (mutual
 * TLS with the platform CA, INTERNAL_PORT), never through an ingress. The caller is the service named
 * by its certificate's CN; each route names who may call it (`callers`), and the serving service
 * refuses anyone else with 403 CALLER_NOT_ALLOWED. No client certificate, or one from another CA,
 * fails the TLS handshake.
 */

/** How the internal listeners name a caller's service: the CN of its platform certificate. */
export const INTERNAL_CALLER_NAME = /^[a-z][a-z0-9-]{0,62}$/;

const unauthenticated = httpError(
  'UNAUTHENTICATED: not on the internal listener, or no platform certificate naming a service',
);
const callerNotAllowed = httpError('CALLER_NOT_ALLOWED: this route does not serve the calling service');
const invalidRequest = httpError('INVALID_REQUEST: the body breaks the contract');

const base64Of = (what: string, maxBytes: number) =>
  z
    .string()
    .max(Math.ceil(maxBytes / 3) * 4)
    .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, `base64 (${what})`);

/** Tenant ids as enrollment makes them. */
export const tenantId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'tenant id');
/** Data key ids as privacy's vault makes them. */
export const dataKeyId = z.string().regex(/^dk-[0-9a-f-]{36}$/, 'data key id');
/** ISO 8601 timestamps with an offset, as every service writes them. */
const timestamp = z.iso.datetime({ offset: true });

const DNS_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A DNS name or an IP address, as a server certificate's subject alternative names carry them. */
export const hostname = z
  .string()
  .refine((h) => isIP(h) !== 0 || DNS_NAME.test(h), 'each entry must be a DNS name or an IP address');

// PSK proof check: enrollment holds the sealed PSKs; bootstrap asks whether a proof verifies.

export const pskProofRequest = z.strictObject({
  pskIdentity: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'PSK identity'),
  message: base64Of('the signed message', 1_024).min(1),
  proof: base64Of('HMAC-SHA256(psk, message)', 32).length(44),
});
export type PskProofRequest = z.infer<typeof pskProofRequest>;

export const pskProofVerdict = z.object({
  valid: z.boolean(),
  tenantId: z.string().optional().describe('When valid: the tenant holding the meter'),
  endpointName: z.string().optional().describe('When valid: the meter the identity names'),
});
export type PskProofVerdict = z.infer<typeof pskProofVerdict>;

export const PSK_PROOFS_CHECK = defineHttpRoute({
  name: 'enrollment.psk-proofs.check',
  audience: 'internal',
  method: 'POST',
  path: '/internal/v1/psk-proofs',
  summary: 'INTERNAL: does an HMAC-SHA256 proof come from the holder of this PSK? (bootstrap asks)',
  callers: { services: ['bootstrap'] },
  description: 'Caller: bootstrap (mutual TLS). The PSK never leaves the service.',
  request: pskProofRequest,
  responses: { 200: pskProofVerdict, 400: invalidRequest, 401: unauthenticated, 403: callerNotAllowed },
  examples: [
    {
      title: 'a valid proof',
      request: {
        pskIdentity: 'psk-MTR-000001',
        message: Buffer.from('nonce and CSR digest').toString('base64'),
        proof: Buffer.alloc(32, 7).toString('base64'),
      },
      status: 200,
      response: { valid: true, tenantId: 'acme', endpointName: 'MTR-000001' },
    },
    {
      title: 'a proof that does not verify',
      request: {
        pskIdentity: 'psk-MTR-000001',
        message: Buffer.from('nonce and CSR digest').toString('base64'),
        proof: Buffer.alloc(32, 9).toString('base64'),
      },
      status: 200,
      response: { valid: false },
    },
  ],
});

// API-key introspection: enrollment owns tenants and API keys; other services' operator APIs ask it.

export const apiKeyIntrospectionRequest = z.strictObject({ apiKey: z.string().min(1).max(512) });
export type ApiKeyIntrospectionRequest = z.infer<typeof apiKeyIntrospectionRequest>;

export const apiKeyRole = z.enum(['admin', 'operator', 'auditor']);

export const apiKeyIntrospection = z.object({
  tenantId: z.string().min(1).max(64),
  keyId: z.string().min(1).max(64),
  role: apiKeyRole,
  actor: z.string().min(1).max(128),
});
export type ApiKeyIntrospection = z.infer<typeof apiKeyIntrospection>;

export const API_KEYS_INTROSPECT = defineHttpRoute({
  name: 'enrollment.api-keys.introspect',
  audience: 'internal',
  method: 'POST',
  path: '/internal/v1/api-keys/introspect',
  summary: 'INTERNAL: whose is this API key? (tenant, role) for other services’ operator APIs',
  callers: { services: ['privacy', 'ota-distributor'] },
  description: 'Callers: privacy, ota-distributor (mutual TLS). The key is never logged.',
  request: apiKeyIntrospectionRequest,
  responses: {
    200: apiKeyIntrospection,
    400: httpError('INVALID_REQUEST: not an API key'),
    401: httpError('UNAUTHENTICATED: unknown or revoked key'),
    403: callerNotAllowed,
  },
  examples: [
    {
      title: 'a live key',
      request: { apiKey: 'mk_k1_secret' },
      status: 200,
      response: { tenantId: 'acme', keyId: 'k1', role: 'operator', actor: 'api-key:k1' },
    },
    {
      title: 'an unknown key',
      request: { apiKey: 'mk_k2_wrong' },
      status: 401,
      response: { code: 'UNAUTHENTICATED', message: 'Unknown or revoked API key' },
    },
  ],
});

// Data keys: privacy's vault, read by the telemetry ingest and authorised decrypting consumers.

const base64Key = z
  .base64()
  .refine((key) => Buffer.from(key, 'base64').length === 32, 'a 32-byte key')
  .describe('The 32-byte AES-256 data key, base64');

export const meterDataKeys = z.object({
  tenantId: z.string(),
  meterId: z.string(),
  occupancies: z
    .array(
      z.object({
        occupancyId: z.string(),
        keyId: z.string(),
        from: timestamp,
        to: timestamp.nullable().describe('Exclusive; null while open'),
        key: base64Key.optional().describe('Absent when destroyed'),
        destroyed: z.boolean().describe("Destroyed: refuse readings of this occupancy's period"),
      }),
    )
    .describe('In time order; the one whose [from, to) covers a reading time encrypts it'),
  meterKey: z
    .object({ keyId: z.string(), key: base64Key })
    .describe('For reading times no occupancy covers; made on first request'),
});
export type MeterDataKeys = z.infer<typeof meterDataKeys>;

const exampleKey = Buffer.alloc(32, 1).toString('base64');

export const METER_DATA_KEYS_GET = defineHttpRoute({
  name: 'privacy.meter-data-keys.get',
  audience: 'internal',
  method: 'GET',
  path: '/internal/v1/tenants/:tenantId/meters/:meterId/data-keys',
  summary: "INTERNAL: a meter's data keys, per occupancy period, and its own key (made on first request)",
  callers: { services: ['telemetry-ingest'] },
  description: `Caller: telemetry-ingest (mutual TLS). For each reading, use the occupancy whose [from, to) covers the reading time, else the meter key; refuse readings of a destroyed occupancy.`,
  params: { tenantId, meterId: endpointName },
  responses: {
    200: meterDataKeys,
    400: httpError('INVALID_REQUEST: a malformed id'),
    401: unauthenticated,
    403: callerNotAllowed,
  },
  examples: [
    {
      title: 'one open occupancy',
      params: { tenantId: 'acme', meterId: 'MTR-000001' },
      status: 200,
      response: {
        tenantId: 'acme',
        meterId: 'MTR-000001',
        occupancies: [
          {
            occupancyId: 'occ-1',
            keyId: 'dk-00000000-0000-4000-8000-000000000001',
            from: '2026-01-01T00:00:00.000Z',
            to: null,
            key: exampleKey,
            destroyed: false,
          },
        ],
        meterKey: { keyId: 'dk-00000000-0000-4000-8000-000000000002', key: exampleKey },
      },
    },
  ],
});

export const dataKey = z.object({
  keyId: z.string(),
  meterId: z.string(),
  occupancyId: z.string().nullable().describe("Null for the meter's own key"),
  key: base64Key,
});
export type DataKey = z.infer<typeof dataKey>;

export const DATA_KEY_GET = defineHttpRoute({
  name: 'privacy.data-key.get',
  audience: 'internal',
  method: 'GET',
  path: '/internal/v1/tenants/:tenantId/data-keys/:keyId',
  summary: 'INTERNAL: one data key by id, for an authorised consumer decrypting readings',
  callers: { grantedBy: 'PRIVACY_DATA_KEY_GRANTS' },
  description:
    'Callers: decrypting consumers granted the tenant in PRIVACY_DATA_KEY_GRANTS (mutual TLS). Every answer, granted or refused, is audited.',
  params: { tenantId, keyId: dataKeyId },
  responses: {
    200: dataKey,
    400: httpError('INVALID_REQUEST: a malformed id'),
    401: unauthenticated,
    403: httpError('DATA_KEY_NOT_GRANTED: the calling consumer holds no grant for this tenant'),
    404: httpError('DATA_KEY_NOT_FOUND'),
    410: httpError('KEY_DESTROYED: the key was destroyed; what it encrypted is unreadable'),
  },
  examples: [
    {
      title: "an occupancy's key",
      params: { tenantId: 'acme', keyId: 'dk-00000000-0000-4000-8000-000000000001' },
      status: 200,
      response: {
        keyId: 'dk-00000000-0000-4000-8000-000000000001',
        meterId: 'MTR-000001',
        occupancyId: 'occ-1',
        key: exampleKey,
      },
    },
    {
      title: 'a destroyed key',
      params: { tenantId: 'acme', keyId: 'dk-00000000-0000-4000-8000-000000000001' },
      status: 410,
      response: { code: 'KEY_DESTROYED', message: 'The data key was destroyed' },
    },
  ],
});

// Server certificates: bootstrap's platform server CA signs operational servers' TLS keys.

export const serverCertificateRequest = z.strictObject({
  csrPem: z
    .string()
    .max(8_192)
    .regex(/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/, 'a PEM certificate request')
    .describe('PKCS#10 request for the server’s P-256 key (its subject is ignored)'),
  hostnames: z
    .array(hostname)
    .min(1)
    .max(20)
    .refine((names) => new Set(names).size === names.length, 'hostnames must not repeat')
    .describe('DNS names and IP addresses the certificate names (the first is also its CN)'),
});
export type ServerCertificateRequest = z.infer<typeof serverCertificateRequest>;

export const serverCertificateAnswer = z.object({
  certificatePem: z.string().describe('Server certificate (profile server: serverAuth), PEM'),
  chainPem: z
    .array(z.string())
    .describe('The platform server CA, PEM: the CA meters trust servers by (the end of the chain)'),
  notAfter: z.iso.datetime(),
});
export type ServerCertificateAnswer = z.infer<typeof serverCertificateAnswer>;

export const SERVER_CERTIFICATES_ISSUE = defineHttpRoute({
  name: 'bootstrap.server-certificates.issue',
  audience: 'internal',
  method: 'POST',
  path: '/internal/v1/server-certificates',
  summary: 'INTERNAL: a 7-day TLS server certificate from the platform server CA, for a CSR',
  callers: { services: ['telemetry-ingest', 'ota-distributor'] },
  description:
    'Callers: telemetry-ingest, ota-distributor (mutual TLS), each only for the hostnames BOOTSTRAP_SERVER_CERT_HOSTNAMES configures for it.',
  request: serverCertificateRequest,
  responses: {
    200: serverCertificateAnswer,
    400: httpError('INVALID_REQUEST, CSR_INVALID, CSR_KEY_UNSUPPORTED'),
    401: unauthenticated,
    403: httpError(
      'CALLER_NOT_ALLOWED, or HOSTNAME_NOT_ALLOWED: a hostname not configured for the calling service',
    ),
  },
  examples: [
    {
      title: 'a certificate for the ingest',
      request: {
        csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
        hostnames: ['telemetry.example.net', '10.0.0.7'],
      },
      status: 200,
      response: {
        certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        chainPem: ['-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n'],
        notAfter: '2026-01-08T00:00:00.000Z',
      },
    },
  ],
});
