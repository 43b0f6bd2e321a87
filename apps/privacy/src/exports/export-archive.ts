import { type KeyObject, createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { type DocumentSignature, signDocument } from '../erasures/erasure-certificate';

/**
 * A subject access archive (spec privacy.md §4.4): plain files in a POSIX ustar archive, a manifest of
 * their SHA-256 digests signed ES256 over RFC 8785 JSON with the privacy certificate key (as erasure
 * certificates are), and the whole sealed under a one-time AES-256-GCM key before it reaches S3.
 */

export interface ArchiveFile {
  name: string;
  bytes: Buffer;
}

export interface ExportManifest {
  manifestVersion: 1;
  exportId: string;
  tenantId: string;
  subjectRef: string;
  generatedAt: string;
  generator: string;
  scope: { occupancyIds: string[] };
  files: { name: string; sha256: string; bytes: number }[];
}
export type SignedExportManifest = ExportManifest & { signature: DocumentSignature };

export const MANIFEST_FILE = 'manifest.json';

export const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export function signManifest(
  unsigned: Omit<ExportManifest, 'files'>,
  files: readonly ArchiveFile[],
  key: KeyObject,
): SignedExportManifest {
  const manifest: ExportManifest = {
    ...unsigned,
    files: files.map((f) => ({ name: f.name, sha256: sha256Hex(f.bytes), bytes: f.bytes.length })),
  };
  return signDocument(manifest, key);
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
const field = (value: string | number) => {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A POSIX ustar archive of regular files (names ≤ 100 bytes, ASCII), readable by any tar. */
export function tarArchive(files: readonly ArchiveFile[], mtime: Date): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    if (!/^[\x21-\x7e]{1,100}$/.test(file.name))
      throw new RangeError(`unsupported archive name ${file.name}`);
    const header = Buffer.alloc(BLOCK);
    header.write(file.name, 0, 100, 'ascii');
    header.write(octal(0o644, 8), 100, 'ascii');
    header.write(octal(0, 8), 108, 'ascii');
    header.write(octal(0, 8), 116, 'ascii');
    header.write(octal(file.bytes.length, 12), 124, 'ascii');
    header.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 'ascii');
    header.write('        ', 148, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\0', 257, 'ascii');
    header.write('00', 263, 'ascii');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
    parts.push(header, file.bytes, Buffer.alloc((BLOCK - (file.bytes.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** Sealed form: "MKX1" | IV (12) | tag (16) | AES-256-GCM ciphertext; the export id is the AAD. */
const MAGIC = Buffer.from('MKX1', 'ascii');

export function sealArchive(plain: Buffer, key: Buffer, exportId: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(exportId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), ciphertext]);
}

export function openArchive(sealed: Buffer, key: Buffer, exportId: string): Buffer {
  if (sealed.length < 32 || !sealed.subarray(0, 4).equals(MAGIC))
    throw new Error('not a sealed export archive');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(4, 16));
  decipher.setAAD(Buffer.from(exportId, 'utf8'));
  decipher.setAuthTag(sealed.subarray(16, 32));
  return Buffer.concat([decipher.update(sealed.subarray(32)), decipher.final()]);
}
