import { PkiError, malformed } from './errors.js';

export const PEM_LABEL = {
  certificate: 'CERTIFICATE',
  certificateRequest: 'CERTIFICATE REQUEST',
  crl: 'X509 CRL',
  privateKey: 'PRIVATE KEY',
  ecPrivateKey: 'EC PRIVATE KEY',
  publicKey: 'PUBLIC KEY',
} as const;

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

const LABEL = /^[A-Z0-9]+( [A-Z0-9]+)*$/;
const BLOCK = /-----BEGIN ([^-\r\n]+)-----([\s\S]*?)-----END ([^-\r\n]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** RFC 7468 text encoding: base64 in lines of 64 characters between BEGIN/END lines. */
export function toPem(der: Uint8Array, label: string): string {
  if (!LABEL.test(label)) throw new PkiError('INVALID_ARGUMENT', `"${label}" is not a PEM label`);
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.length).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function decodeBase64Strict(body: string, label: string): Buffer {
  const compact = body.replace(/[ \t\r\n]/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw malformed(`PEM ${label}: invalid base64`);
  const der = Buffer.from(compact, 'base64');
  if (der.toString('base64') !== compact) throw malformed(`PEM ${label}: non-canonical base64`);
  if (der.length === 0) throw malformed(`PEM ${label}: empty`);
  return der;
}

/** Every PEM block in the text, in order; text outside blocks is ignored (RFC 7468 explanatory text). */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, begin = '', body = '', end = ''] = match;
    if (begin !== end) throw malformed(`PEM: BEGIN ${begin} closed by END ${end}`);
    blocks.push({ label: begin, der: decodeBase64Strict(body, begin) });
  }
  return blocks;
}

/** The DER of the single PEM block in `text`, whose label must be one of `labels`. */
export function fromPem(text: string, labels: string | readonly string[]): Buffer {
  const accepted = typeof labels === 'string' ? [labels] : labels;
  const blocks = parsePemBlocks(text);
  if (blocks.length !== 1) {
    throw malformed(`PEM: expected one ${accepted.join(' or ')} block, found ${blocks.length}`);
  }
  const block = blocks[0]!;
  if (!accepted.includes(block.label)) {
    throw malformed(`PEM: expected ${accepted.join(' or ')}, found ${block.label}`);
  }
  return block.der;
}

function looksLikePem(bytes: Uint8Array): boolean {
  // DER structures here all start with a SEQUENCE (0x30); PEM text starts with '-' or explanatory text.
  return bytes.length > 0 && bytes[0] !== 0x30;
}

/** Accepts PEM text, PEM bytes or DER bytes and returns DER. */
export function toDer(input: string | Uint8Array, labels: string | readonly string[]): Buffer {
  if (typeof input === 'string') return fromPem(input, labels);
  if (looksLikePem(input)) return fromPem(Buffer.from(input).toString('latin1'), labels);
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length);
}
