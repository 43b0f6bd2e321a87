import { batchId, classId, customParameters, model, vendorId } from '@meterkeep/factory-bundle';
import { z } from 'zod';

export const BATCH_FILE_FORMAT = 'meterkeep.factory-batch/1';
/** Bundles per chunk file: the unit of work, of resumption and of atomic writes. */
export const CHUNK_SIZE = 1000;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256');
const isoDate = z.iso.datetime({ offset: true });

/** What every bundle of the batch carries besides its identity: fixed when the batch is created. */
export const batchConfig = z.strictObject({
  bootstrapUri: z.string(),
  bootstrapTrustAnchorPem: z.string(),
  updateAuthorityPublicKeyPem: z.string(),
  vendorId,
  classId,
  customParameters,
  expectedLifeYears: z.number().int().min(1).max(50),
});
export type BatchConfig = z.infer<typeof batchConfig>;

/** Identities minted here: a key pair and certificate, or a PSK, per meter. */
const generateSource = z.strictObject({
  kind: z.literal('generate'),
  credential: z.enum(['certificate', 'psk']),
  endpointPrefix: z.string().min(1).max(100),
  firstIndex: z.number().int().min(0),
  indexDigits: z.number().int().min(1).max(18),
});

/** Keys minted in the meters: certificates issued from their CSRs, one JSONL line each. */
const csrSource = z.strictObject({
  kind: z.literal('csr'),
  inputFile: z.string(),
  inputSha256: sha256Hex,
});

/**
 * batch.json: everything needed to continue an interrupted batch exactly as it began (same serial
 * prefix, validity and configuration), and to verify it later.
 */
export const batchFile = z.strictObject({
  format: z.literal(BATCH_FILE_FORMAT),
  batchId,
  model,
  /** Meters to mint, or CSR lines in the input. */
  count: z.number().int().min(1).max(100_000_000),
  source: z.discriminatedUnion('kind', [generateSource, csrSource]),
  chunkSize: z.number().int().min(1).max(100_000),
  /** 8 random bytes: a serial is this prefix and the meter's 8-byte index, so none repeats. */
  serialPrefix: z.string().regex(/^[4-7][0-9a-f]{15}$/),
  createdAt: isoDate,
  /** The factory certificates' validity window (absent for PSK batches). */
  validity: z.strictObject({ notBefore: isoDate, notAfter: isoDate }).nullable(),
  ca: z.strictObject({ intermediatePem: z.string(), intermediateSha256: sha256Hex, rootSha256: sha256Hex }),
  config: batchConfig,
});
export type BatchFile = z.infer<typeof batchFile>;

export type CredentialKind = 'certificate' | 'psk';

export function credentialOf(batch: BatchFile): CredentialKind {
  return batch.source.kind === 'generate' ? batch.source.credential : 'certificate';
}

/** Number of chunk files of the batch (the last one may be short). */
export function chunkCount(batch: BatchFile): number {
  return Math.ceil(batch.count / batch.chunkSize);
}

/** A serial number: the batch's 8-byte prefix and the 8-byte index, positive (the prefix starts 0x4–0x7). */
export function serialFor(serialPrefix: string, index: number): Buffer {
  const serial = Buffer.alloc(16);
  serial.write(serialPrefix, 0, 'hex');
  serial.writeBigUInt64BE(BigInt(index), 8);
  return serial;
}

/** The index a serial of this batch encodes, or undefined when it is not one of the batch's serials. */
export function indexOfSerial(serialPrefix: string, serialHex: string): number | undefined {
  if (serialHex.length !== 32 || !serialHex.startsWith(serialPrefix)) return undefined;
  const index = Buffer.from(serialHex.slice(16), 'hex').readBigUInt64BE(0);
  return index <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(index) : undefined;
}

/** `<prefix>-<zero-padded number>`, numbered from firstIndex. */
export function endpointNameFor(source: z.infer<typeof generateSource>, position: number): string {
  return `${source.endpointPrefix}-${String(source.firstIndex + position).padStart(source.indexDigits, '0')}`;
}
