import { type KeyObject, sign, verify } from 'node:crypto';
import { batchId, model, serialNumberHex } from '@meterkeep/factory-bundle';
import { z } from 'zod';

export const MANIFEST_FORMAT = 'meterkeep.batch-manifest/1';
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');

/**
 * The first link of the chain of custody from factory to field: what the batch holds, under whose
 * CA, and the digest of the list the utility enrolls. Signed by the manufacturer intermediate's key
 * (ECDSA P-256, SHA-256, DER signature in manifest.sig) over manifest.json's exact bytes.
 */
export const batchManifest = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  batchId,
  model,
  credential: z.enum(['certificate', 'psk']),
  /** Where the meters' private keys were generated: here (bundle) or in the meters (device). */
  keyLocation: z.enum(['bundle', 'device']).nullable(),
  count: z.number().int().min(1),
  serialRange: z.strictObject({ first: serialNumberHex, last: serialNumberHex }),
  ca: z.strictObject({ intermediateSha256: sha256Hex, rootSha256: sha256Hex }),
  enrollmentList: z.strictObject({ file: z.string(), sha256: sha256Hex, rows: z.number().int().min(1) }),
  createdAt: z.iso.datetime({ offset: true }),
});
export type BatchManifest = z.infer<typeof batchManifest>;

/** The manifest's bytes as written, and their signature. */
export function signManifest(
  manifest: BatchManifest,
  privateKey: KeyObject,
): { bytes: Buffer; signature: Buffer } {
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  return { bytes, signature: sign('sha256', bytes, { key: privateKey, dsaEncoding: 'der' }) };
}

export function verifyManifestSignature(bytes: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  try {
    return verify('sha256', bytes, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
