/** One line of an uploaded list: its text, or why it could not be read. Numbers are 1-based. */
export type Line = { number: number; text: string } | { number: number; problem: 'too-long' | 'not-utf8' };

export interface LineLimits {
  /** Longer lines are reported (as 'too-long') and skipped, not buffered. */
  maxLineBytes: number;
  /** Reading stops with ListTooLargeError past this many bytes. */
  maxTotalBytes: number;
}

export class ListTooLargeError extends Error {
  constructor(readonly maxTotalBytes: number) {
    super(`The list is larger than ${maxTotalBytes} bytes`);
    this.name = 'ListTooLargeError';
  }
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines as it arrives, holding at most one line (capped) in memory.
 * Accepts LF and CRLF endings, a UTF-8 byte-order mark, and a last line without a newline.
 */
export async function* readLines(
  source: AsyncIterable<Uint8Array>,
  { maxLineBytes, maxTotalBytes }: LineLimits,
): AsyncGenerator<Line> {
  // A fresh fatal decoder per line: invalid UTF-8 fails that line only; a BOM is dropped.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  let total = 0;
  let number = 0;

  const finish = (): Line => {
    number++;
    if (tooLong) {
      tooLong = false;
      return { number, problem: 'too-long' };
    }
    let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
    parts = [];
    length = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    try {
      return { number, text: decoder.decode(bytes) };
    } catch {
      return { number, problem: 'not-utf8' };
    }
  };

  for await (const chunk of source) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    total += buffer.length;
    if (total > maxTotalBytes) throw new ListTooLargeError(maxTotalBytes);
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(NEWLINE, start);
      const end = newline === -1 ? buffer.length : newline;
      if (!tooLong && end > start) {
        if (length + (end - start) > maxLineBytes) {
          tooLong = true;
          parts = [];
          length = 0;
        } else {
          // Copied: the caller's chunk buffers may be reused once we yield.
          parts.push(Buffer.from(buffer.subarray(start, end)));
          length += end - start;
        }
      }
      if (newline === -1) break;
      yield finish();
      start = newline + 1;
    }
  }
  if (length > 0 || tooLong) yield finish();
}
