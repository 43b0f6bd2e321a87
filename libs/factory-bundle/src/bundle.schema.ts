import { z } from 'zod';

/** The format tag every bundle carries; a breaking change to the shape is a new number. */
export const BUNDLE_FORMAT = 'meterkeep.factory-bundle/1';

/** Names that also appear in CSV columns and file names: no separators, quotes or spaces. */
const identifier = (what: string, max = 64) =>
  z.string().regex(new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${max - 1}}$`), what);

/** A meter's endpoint name, its certificate's CN: the same rule as the enrollment events' deviceId. */
export const endpointName = identifier('endpoint name', 128);
export const batchId = identifier('batch id');
export const model = identifier('model');
export const vendorId = identifier('vendor id');
export const classId = identifier('class id');

/** A certificate serial in lowercase hex: whole bytes, at most 20 (RFC 5280). */
export const serialNumberHex = z.string().regex(/^([0-9a-f]{2}){1,20}$/, 'lowercase hex serial number');

const pemOf = (label: string) =>
  z
    .string()
    .max(16_384)
    .regex(
      new RegExp(`^-----BEGIN ${label}-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END ${label}-----\\r?\\n?$`),
      {
        message: `a single PEM ${label} block`,
      },
    );

export const certificatePem = pemOf('CERTIFICATE');
export const privateKeyPem = pemOf('PRIVATE KEY');
export const publicKeyPem = pemOf('PUBLIC KEY');

const PSK_BYTES = 32;

/** Custom parameter names are identifiers; values are short text. */
export const customParameterName = z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}$/, 'parameter name');
export const customParameters = z.record(customParameterName, z.string().max(1024));

/** The factory generated the key and ships it in the bundle (PKCS#8, unencrypted: the line injects it). */
export const bundledKeyCredential = z.strictObject({
  kind: z.literal('certificate'),
  keyLocation: z.literal('bundle'),
  privateKeyPem,
  certificatePem,
  /** Intermediate first, root last. */
  chainPem: z.array(certificatePem).min(1).max(4),
});

/** The meter generated its key and sent a CSR: the private key never left it, so there is none here. */
export const deviceKeyCredential = z.strictObject({
  kind: z.literal('certificate'),
  keyLocation: z.literal('device'),
  certificatePem,
  chainPem: z.array(certificatePem).min(1).max(4),
});

/** Meters without PKI: a pre-shared key and the identity it goes by. */
export const pskCredential = z.strictObject({
  kind: z.literal('psk'),
  pskIdentity: z.string().min(1).max(128),
  pskBase64: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, `base64 of ${PSK_BYTES} bytes`)
    .refine((value) => Buffer.from(value, 'base64').toString('base64') === value, 'canonical base64'),
});

export const bundleCredential = z.discriminatedUnion('kind', [
  z.discriminatedUnion('keyLocation', [bundledKeyCredential, deviceKeyCredential]),
  pskCredential,
]);

const httpsUrl = z.url({ protocol: /^https$/, message: 'an https:// URL' }).max(2048);

/**
 * What the factory injects into one meter: its identity (certificate and key, or PSK), where to
 * bootstrap and whom to trust there, and what firmware authority to accept.
 */
export const factoryBundle = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  endpointName,
  batchId,
  model,
  serialNumber: serialNumberHex,
  credential: bundleCredential,
  bootstrap: z.strictObject({
    serverUri: httpsUrl,
    /** The CA (or self-signed certificate) the bootstrap server's TLS certificate chains to. */
    trustAnchorPem: certificatePem,
  }),
  vendorId,
  classId,
  /** The key firmware manifests must be signed with (SubjectPublicKeyInfo, P-256). */
  updateAuthorityPublicKeyPem: publicKeyPem,
  customParameters,
  /** The meter's expected service life: its factory certificate must stay valid that long. */
  expectedLifeYears: z.number().int().min(1).max(50),
  issuedAt: z.iso.datetime({ offset: true }),
});

export type FactoryBundle = z.infer<typeof factoryBundle>;
export type BundleCredential = z.infer<typeof bundleCredential>;
export type BundledKeyCredential = z.infer<typeof bundledKeyCredential>;
export type DeviceKeyCredential = z.infer<typeof deviceKeyCredential>;
export type PskCredential = z.infer<typeof pskCredential>;
