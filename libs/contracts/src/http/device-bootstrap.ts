import { z } from 'zod';
import { endpointName } from '../events/common';
import { type RefusalStatus, refusalResponses } from './device-refusal';
import { defineHttpRoute } from './http-route';

/**
 * Bootstrap's device API on its mutual-TLS listener, shared by the service (which validates requests
 * with these schemas and documents them) and by meter-sim (which validates the answers): certificate
 * bootstrap, PSK nonce and PSK bootstrap, certificate renewal.
 */

const csrPem = z
  .string()
  .max(8_192)
  .regex(/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/, 'a PEM certificate request')
  .describe('PKCS#10 request for a new P-256 key; subject CN = the endpoint name');
const pskIdentity = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, '1-128 printable ASCII characters without spaces');
const nonce = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a nonce from /bs/v1/psk/nonce');

/** POST /bs/v1/bootstrap (factory certificate in the handshake) and POST /bs/v1/renew (operational one). */
export const certificateRequest = z.strictObject({ csrPem });
export type CertificateRequest = z.infer<typeof certificateRequest>;

/** POST /bs/v1/psk/nonce */
export const pskNonceRequest = z.strictObject({ pskIdentity });
export type PskNonceRequest = z.infer<typeof pskNonceRequest>;

/** The answer to POST /bs/v1/psk/nonce: single use, valid 60 s. */
export const pskNonceAnswer = z.object({ nonce, expiresAt: z.iso.datetime() });
export type PskNonceAnswer = z.infer<typeof pskNonceAnswer>;

/** POST /bs/v1/psk/bootstrap */
export const pskBootstrapRequest = z.strictObject({
  pskIdentity,
  nonce,
  csrPem,
  proof: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of an HMAC-SHA256')
    .describe('base64(HMAC-SHA256(psk, utf8(nonce) || 0x00 || sha256(csrDer)))'),
});
export type PskBootstrapRequest = z.infer<typeof pskBootstrapRequest>;

/** The answer to a bootstrap (certificate or PSK) and to a renewal: what the meter keeps. */
export const bootstrapAnswer = z.object({
  endpointName,
  tenantId: z.string(),
  certificatePem: z
    .string()
    .describe('Operational certificate (profile operational-device, CN = endpoint name)'),
  chainPem: z.array(z.string()).describe('Tenant issuing CA first, up to the operational root'),
  serverTime: z.iso.datetime(),
  renewal: z.object({ notAfter: z.iso.datetime(), renewAfter: z.iso.datetime() }),
  servers: z.object({
    telemetry: z.object({ uri: z.string() }),
    ota: z.object({
      uri: z.string(),
      directivePublicKeysPem: z
        .array(z.string().max(4_096))
        .min(1)
        .max(2)
        .optional()
        .describe(
          'Since contract 1.1: the distributor directive keys (P-256 SPKI PEM) the meter pins; the current first, the next during a rotation. Absent from servers before 1.1.',
        ),
    }),
    bootstrap: z.object({ uri: z.string() }),
  }),
  serverTrustAnchorsPem: z
    .array(z.string())
    .describe(
      'The platform server CA(s), PEM: what the operational servers’ (telemetry, OTA) certificates chain to',
    ),
});
export type BootstrapAnswer = z.infer<typeof bootstrapAnswer>;

/**
 * Every refusal the bootstrap device API answers, with its status. A refusal's message never says
 * which tenant holds a meter or trusts a CA, and never echoes a secret. 429 and 503 carry Retry-After.
 */
export const BOOTSTRAP_REFUSALS = {
  INVALID_REQUEST: 400,
  CLIENT_CERTIFICATE_REQUIRED: 401,
  UNKNOWN_CA: 403,
  CA_DISABLED: 403,
  CERTIFICATE_EXPIRED: 403,
  CERTIFICATE_INVALID: 403,
  CERTIFICATE_REVOKED: 403,
  NOT_ENROLLED_HERE: 403,
  FINGERPRINT_MISMATCH: 403,
  CSR_SUBJECT_MISMATCH: 403,
  CSR_KEY_UNSUPPORTED: 403,
  BAD_PSK_PROOF: 403,
  NONCE_INVALID: 403,
  DEVICE_SUSPENDED: 403,
  DEVICE_DECOMMISSIONED: 403,
  RATE_LIMITED: 429,
  NOT_YET_KNOWN: 503,
  UNAVAILABLE: 503,
} as const satisfies Record<string, RefusalStatus>;
export type BootstrapRefusalCode = keyof typeof BOOTSTRAP_REFUSALS;

/** What every route may answer: a body that fails its schema, too many requests, a store down. */
const ANY_ROUTE = ['INVALID_REQUEST', 'RATE_LIMITED', 'UNAVAILABLE'] as const;
/** Issuing an operational certificate to a meter found in the read model. */
const ISSUANCE = [
  'NOT_YET_KNOWN',
  'NOT_ENROLLED_HERE',
  'DEVICE_SUSPENDED',
  'DEVICE_DECOMMISSIONED',
  'CSR_SUBJECT_MISMATCH',
  'CSR_KEY_UNSUPPORTED',
] as const;
/** A certificate chain presented in the handshake. */
const PRESENTED_CHAIN = [
  'CLIENT_CERTIFICATE_REQUIRED',
  'CERTIFICATE_INVALID',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_REVOKED',
] as const;

/** The refusals of each route, a typed union per route. */
export const CERTIFICATE_BOOTSTRAP_REFUSALS = [
  ...ANY_ROUTE,
  ...PRESENTED_CHAIN,
  'UNKNOWN_CA',
  'CA_DISABLED',
  'FINGERPRINT_MISMATCH',
  ...ISSUANCE,
] as const satisfies readonly BootstrapRefusalCode[];
export type CertificateBootstrapRefusalCode = (typeof CERTIFICATE_BOOTSTRAP_REFUSALS)[number];

export const PSK_NONCE_REFUSALS = [...ANY_ROUTE] as const satisfies readonly BootstrapRefusalCode[];
export type PskNonceRefusalCode = (typeof PSK_NONCE_REFUSALS)[number];

export const PSK_BOOTSTRAP_REFUSALS = [
  ...ANY_ROUTE,
  'NONCE_INVALID',
  'BAD_PSK_PROOF',
  ...ISSUANCE,
] as const satisfies readonly BootstrapRefusalCode[];
export type PskBootstrapRefusalCode = (typeof PSK_BOOTSTRAP_REFUSALS)[number];

export const RENEWAL_REFUSALS = [
  ...ANY_ROUTE,
  ...PRESENTED_CHAIN,
  ...ISSUANCE,
] as const satisfies readonly BootstrapRefusalCode[];
export type RenewalRefusalCode = (typeof RENEWAL_REFUSALS)[number];

// The routes, for the registry (snapshots, examples) and for both ends' paths.

const CSR_PEM =
  '-----BEGIN CERTIFICATE REQUEST-----\nMIIBDzCBtgIBADAVMRMwEQYDVQQDDApNVFItMDAwMDAx\n-----END CERTIFICATE REQUEST-----\n';
const CERT_PEM = (cn: string) => `-----BEGIN CERTIFICATE-----\nMIIB (${cn})\n-----END CERTIFICATE-----\n`;
const ANSWER: BootstrapAnswer = {
  endpointName: 'MTR-000001',
  tenantId: 'acme',
  certificatePem: CERT_PEM('MTR-000001'),
  chainPem: [CERT_PEM('acme issuing CA'), CERT_PEM('Meterkeep operational root')],
  serverTime: '2026-11-26T08:30:00.000Z',
  renewal: { notAfter: '2026-12-26T08:30:00.000Z', renewAfter: '2026-12-17T08:30:00.000Z' },
  servers: {
    telemetry: { uri: 'https://telemetry.meterkeep.example:8444' },
    ota: {
      uri: 'https://ota.meterkeep.example:8445',
      directivePublicKeysPem: [
        '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…\n-----END PUBLIC KEY-----\n',
      ],
    },
    bootstrap: { uri: 'https://bootstrap.meterkeep.example:8443' },
  },
  serverTrustAnchorsPem: [CERT_PEM('Meterkeep platform server CA')],
};
const NONCE = 'q3Jt0c2Vb8mZ1xYk7Qp4Ls9Wd6Fh2Ng5Rj8Tb3Vc0Ae';

export const CERTIFICATE_BOOTSTRAP = defineHttpRoute({
  name: 'bootstrap.device-certificates.bootstrap',
  audience: 'device',
  method: 'POST',
  path: '/bs/v1/bootstrap',
  summary: 'Factory certificate in (client certificate + chain), operational certificate out',
  description: 'Mutual TLS with the factory certificate and its chain; the CSR is for a key the meter made.',
  request: certificateRequest,
  responses: {
    200: bootstrapAnswer,
    ...refusalResponses(BOOTSTRAP_REFUSALS, CERTIFICATE_BOOTSTRAP_REFUSALS),
  },
  examples: [
    { title: 'an enrolled meter', request: { csrPem: CSR_PEM }, status: 200, response: ANSWER },
    {
      title: 'a meter nobody enrolled with this CA',
      request: { csrPem: CSR_PEM },
      status: 403,
      // Every refusal before the chain is proven to come from a trusted CA: the reason is logged only.
      response: {
        code: 'CERTIFICATE_INVALID',
        message: 'The client certificate is not trusted for bootstrap',
      },
    },
    {
      title: 'a meter whose enrollment is still on its way (Retry-After)',
      request: { csrPem: CSR_PEM },
      status: 503,
      response: { code: 'NOT_YET_KNOWN', message: 'The meter is not known here (yet); retry later' },
    },
  ],
});

export const PSK_NONCE_ISSUE = defineHttpRoute({
  name: 'bootstrap.psk-nonces.issue',
  audience: 'device',
  method: 'POST',
  path: '/bs/v1/psk/nonce',
  summary: 'A single-use nonce (60 s) for a PSK meter',
  description: 'Issued for any identity alike, so the answer tells nothing about which identities exist.',
  request: pskNonceRequest,
  responses: { 200: pskNonceAnswer, ...refusalResponses(BOOTSTRAP_REFUSALS, PSK_NONCE_REFUSALS) },
  examples: [
    {
      title: 'a nonce',
      request: { pskIdentity: 'psk-MTR-000001' },
      status: 200,
      response: { nonce: NONCE, expiresAt: '2026-11-26T08:31:00.000Z' },
    },
    {
      title: 'too many nonces from one address (Retry-After)',
      request: { pskIdentity: 'psk-MTR-000001' },
      status: 429,
      response: { code: 'RATE_LIMITED', message: 'Too many requests; retry later' },
    },
  ],
});

export const PSK_BOOTSTRAP = defineHttpRoute({
  name: 'bootstrap.psk-meters.bootstrap',
  audience: 'device',
  method: 'POST',
  path: '/bs/v1/psk/bootstrap',
  summary: 'PSK identity proven by HMAC over the nonce and the CSR, operational certificate out',
  description: 'The PSK never leaves the meter nor enrollment: enrollment checks the proof.',
  request: pskBootstrapRequest,
  responses: { 200: bootstrapAnswer, ...refusalResponses(BOOTSTRAP_REFUSALS, PSK_BOOTSTRAP_REFUSALS) },
  examples: [
    {
      title: 'a proof that verifies',
      request: {
        pskIdentity: 'psk-MTR-000001',
        nonce: NONCE,
        csrPem: CSR_PEM,
        proof: Buffer.alloc(32, 7).toString('base64'),
      },
      status: 200,
      response: ANSWER,
    },
    {
      title: 'a nonce used twice',
      request: {
        pskIdentity: 'psk-MTR-000001',
        nonce: NONCE,
        csrPem: CSR_PEM,
        proof: Buffer.alloc(32, 7).toString('base64'),
      },
      status: 403,
      response: { code: 'NONCE_INVALID', message: 'Unknown, expired or already used nonce' },
    },
  ],
});

export const CERTIFICATE_RENEWAL = defineHttpRoute({
  name: 'bootstrap.device-certificates.renew',
  audience: 'device',
  method: 'POST',
  path: '/bs/v1/renew',
  summary: 'Current operational certificate (client certificate) in, a new one out',
  description: 'Any refusal sends the meter back to bootstrap with its factory credential.',
  request: certificateRequest,
  responses: { 200: bootstrapAnswer, ...refusalResponses(BOOTSTRAP_REFUSALS, RENEWAL_REFUSALS) },
  examples: [
    { title: 'an active meter', request: { csrPem: CSR_PEM }, status: 200, response: ANSWER },
    {
      title: 'a revoked certificate',
      request: { csrPem: CSR_PEM },
      status: 403,
      response: { code: 'CERTIFICATE_REVOKED', message: 'The certificate has been revoked' },
    },
  ],
});
