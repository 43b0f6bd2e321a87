import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EnrollmentListParser, type LineOutcome, splitCsvLine } from './enrollment-list.parser';
import { type Line, ListTooLargeError, readLines } from './line-reader';

const FP = 'ab'.repeat(32);
const PSK = Buffer.alloc(32, 7).toString('base64');
const limits = { maxLineBytes: 256, maxTotalBytes: 1 << 20 };

async function lines(chunks: (string | Buffer)[], options = limits): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of readLines(Readable.from(chunks.map((c) => Buffer.from(c))), options))
    out.push(line);
  return out;
}

async function parse(format: 'csv' | 'ndjson', text: string): Promise<LineOutcome[]> {
  const parser = new EnrollmentListParser(format, limits.maxLineBytes);
  return (await lines([text])).map((line) => parser.parse(line));
}

const rejections = (outcomes: LineOutcome[]) =>
  outcomes.flatMap((o) => (o.kind === 'rejected' ? [{ line: o.line, reason: o.reason }] : []));
const rows = (outcomes: LineOutcome[]) => outcomes.flatMap((o) => (o.kind === 'row' ? [o.row] : []));

describe('readLines', () => {
  it('splits across chunk boundaries, with LF or CRLF, and keeps a last line without newline', async () => {
    const result = await lines(['a,b\r', '\nc', 'd\n\ne', 'f']);
    expect(result).toEqual([
      { number: 1, text: 'a,b' },
      { number: 2, text: 'cd' },
      { number: 3, text: '' },
      { number: 4, text: 'ef' },
    ]);
  });

  it('drops a UTF-8 byte-order mark and reports invalid UTF-8 on its own line only', async () => {
    const result = await lines([
      Buffer.from([0xef, 0xbb, 0xbf]),
      'x\n',
      Buffer.from([0xc3, 0x28, 0x0a]),
      'y',
    ]);
    expect(result).toEqual([
      { number: 1, text: 'x' },
      { number: 2, problem: 'not-utf8' },
      { number: 3, text: 'y' },
    ]);
  });

  it('reports an over-long line without buffering it, and goes on', async () => {
    const result = await lines(['ok\n', 'x'.repeat(200), 'x'.repeat(200), '\nnext\n'], {
      maxLineBytes: 256,
      maxTotalBytes: 1 << 20,
    });
    expect(result).toEqual([
      { number: 1, text: 'ok' },
      { number: 2, problem: 'too-long' },
      { number: 3, text: 'next' },
    ]);
  });

  it('stops with ListTooLargeError past the body cap', async () => {
    await expect(lines(['a\n'.repeat(10)], { maxLineBytes: 10, maxTotalBytes: 15 })).rejects.toBeInstanceOf(
      ListTooLargeError,
    );
  });
});

describe('splitCsvLine', () => {
  it('handles quotes, escaped quotes and empty fields', () => {
    expect(splitCsvLine('a,"b,c","d""e",')).toEqual(['a', 'b,c', 'd"e', '']);
    expect(splitCsvLine(' a , b ')).toEqual(['a', 'b']);
    expect(splitCsvLine('')).toEqual(['']);
    expect(splitCsvLine('"a"x,b')).toEqual({ error: 'characters after a closing quote' });
    expect(splitCsvLine('"a,b')).toEqual({ error: 'unterminated quoted field' });
    expect(splitCsvLine('a"b,c')).toEqual({ error: 'a quote inside an unquoted field' });
  });
});

describe('CSV enrollment lists', () => {
  it('reads the factory certificate format', async () => {
    const out = await parse(
      'csv',
      `endpoint_name,certificate_sha256,model,batch_id\nMTR-1,${FP},EM-300,B1\nMTR-2,${FP.toUpperCase()},,\n`,
    );
    expect(out[0]).toEqual({ kind: 'header' });
    expect(rows(out)).toEqual([
      {
        line: 2,
        endpointName: 'MTR-1',
        credential: { kind: 'certificate', fingerprintSha256: FP },
        model: 'EM-300',
        batchId: 'B1',
      },
      { line: 3, endpointName: 'MTR-2', credential: { kind: 'certificate', fingerprintSha256: FP } },
    ]);
  });

  it('reads the class_id column the factory writes, and refuses a malformed one naming the column', async () => {
    const out = await parse(
      'csv',
      `endpoint_name,certificate_sha256,model,batch_id,class_id\nMTR-1,${FP},EM-300,B1,em300-eu\nMTR-2,${FP},EM-300,B1,em 300\nMTR-3,${FP},,,\n`,
    );
    expect(out[1]).toMatchObject({ kind: 'row', row: { endpointName: 'MTR-1', classId: 'em300-eu' } });
    expect(out[2]).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/^class_id: /) });
    expect(out[3]).toMatchObject({ kind: 'row' });
    expect(out[3]).not.toHaveProperty('row.classId');
  });

  it('reads the factory PSK format, with the key decoded', async () => {
    const out = await parse(
      'csv',
      `endpoint_name,psk_identity,psk_key_base64,model,batch_id\nMTR-9,id-9,${PSK},EM-1,B2`,
    );
    const [row] = rows(out);
    expect(row).toMatchObject({
      line: 2,
      endpointName: 'MTR-9',
      credential: { kind: 'psk', pskIdentity: 'id-9' },
    });
    expect(row!.credential.kind === 'psk' && row!.credential.pskKey.equals(Buffer.alloc(32, 7))).toBe(true);
  });

  it('accepts colon-separated fingerprints, columns in any order, and skips blank lines', async () => {
    const colons = FP.match(/../g)!.join(':');
    const out = await parse('csv', `model,certificate_sha256,endpoint_name\n\nEM,${colons},MTR-1\n`);
    expect(rows(out)).toEqual([
      {
        line: 3,
        endpointName: 'MTR-1',
        credential: { kind: 'certificate', fingerprintSha256: FP },
        model: 'EM',
      },
    ]);
  });

  it('reports every malformed row with its line number and a reason that never quotes a key', async () => {
    const header = 'endpoint_name,certificate_sha256,psk_identity,psk_key_base64,model,batch_id';
    const secretish = Buffer.alloc(8, 9).toString('base64');
    const text = [
      header, // 1
      `MTR-1,${FP},,,EM,B`, // 2 ok
      `MTR-2,${FP},,,EM`, // 3 too few fields
      `MTR-3,${FP},,,EM,B,extra`, // 4 too many
      `,${FP},,,EM,B`, // 5 no endpoint
      `-bad,${FP},,,EM,B`, // 6 bad endpoint
      `MTR-7,${FP.slice(2)},,,EM,B`, // 7 short fingerprint
      `MTR-8,${'zz'.repeat(32)},,,EM,B`, // 8 not hex
      `MTR-9,,,,EM,B`, // 9 no credential
      `MTR-10,${FP},id,${PSK},EM,B`, // 10 both
      `MTR-11,,id-11,,EM,B`, // 11 PSK key missing
      `MTR-12,,,${PSK},EM,B`, // 12 identity missing
      `MTR-13,,id 13,${PSK},EM,B`, // 13 identity with a space
      `MTR-14,,id-14,not*base64,EM,B`, // 14 bad base64
      `MTR-15,,id-15,${secretish},EM,B`, // 15 key too short
      `MTR-16,${FP},,,${'m'.repeat(65)},B`, // 16 model too long
      `MTR-17,${FP},,,"EM,B`, // 17 unterminated quote
      `MTR-18,${FP},,,EM,"B\u0007"`, // 18 control character in batch
      'x'.repeat(300), // 19 too long
      `MTR-20,,id-20,${PSK},EM,B`, // 20 ok
    ].join('\n');
    const out = await parse('csv', text);
    expect(rows(out).map((r) => r.line)).toEqual([2, 20]);
    expect(rejections(out)).toEqual([
      { line: 3, reason: 'expected 6 fields, found 5' },
      { line: 4, reason: 'expected 6 fields, found 7' },
      { line: 5, reason: 'endpoint_name: missing' },
      { line: 6, reason: expect.stringMatching(/^endpoint_name: must be/) },
      { line: 7, reason: 'certificate_sha256: must be a SHA-256 fingerprint (64 hex digits)' },
      { line: 8, reason: 'certificate_sha256: must be a SHA-256 fingerprint (64 hex digits)' },
      { line: 9, reason: expect.stringMatching(/^row has no credential/) },
      { line: 10, reason: expect.stringMatching(/^row has both/) },
      { line: 11, reason: 'psk_key_base64: missing' },
      { line: 12, reason: 'psk_identity: missing' },
      { line: 13, reason: expect.stringMatching(/^psk_identity: must be/) },
      { line: 14, reason: 'psk_key_base64: not valid base64' },
      { line: 15, reason: 'psk_key_base64: key must be 16 to 64 bytes' },
      { line: 16, reason: 'model: must be at most 64 printable characters' },
      { line: 17, reason: 'unterminated quoted field' },
      { line: 18, reason: 'batch_id: must be at most 64 printable characters' },
      { line: 19, reason: 'line longer than 256 bytes' },
    ]);
    const reasons = JSON.stringify(rejections(out));
    expect(reasons).not.toContain(PSK);
    expect(reasons).not.toContain(secretish);
  });

  it('refuses a list whose header line cannot be read', async () => {
    const [outcome] = await parse('csv', `${'x'.repeat(300)}\nMTR-1,${FP}`);
    expect(outcome).toEqual({ kind: 'invalid-header', message: 'CSV header: line longer than 256 bytes' });
  });

  it.each([
    ['an unknown column', 'endpoint_name,certificate_sha256,colour', /unknown column "colour"/],
    ['no endpoint column', 'certificate_sha256,model', /endpoint_name column missing/],
    ['no credential column', 'endpoint_name,model', /needs certificate_sha256/],
    ['half a PSK', 'endpoint_name,psk_identity', /go together/],
    ['a repeated column', 'endpoint_name,model,model,certificate_sha256', /appears twice/],
  ])('refuses a header with %s', async (_, header, message) => {
    const [outcome] = await parse('csv', `${header}\nMTR-1,x,y`);
    expect(outcome).toMatchObject({ kind: 'invalid-header', message: expect.stringMatching(message) });
  });
});

describe('NDJSON enrollment lists', () => {
  it('reads camelCase objects and reports malformed lines by number', async () => {
    const text = [
      JSON.stringify({ endpointName: 'MTR-1', certificateSha256: FP, model: 'EM', batchId: 'B' }),
      JSON.stringify({ endpointName: 'MTR-2', pskIdentity: 'id-2', pskKeyBase64: PSK, model: null }),
      `{"endpointName": "MTR-3", "pskKeyBase64": "${PSK}"`,
      '[1,2]',
      '"MTR-5"',
      JSON.stringify({ endpointName: 'MTR-6', certificateSha256: FP, colour: 'red' }),
      JSON.stringify({ endpointName: 7, certificateSha256: FP }),
      '',
      JSON.stringify({ endpointName: 'MTR-9', pskIdentity: 'id-9', pskKeyBase64: 'AAAA' }),
    ].join('\n');
    const out = await parse('ndjson', text);
    expect(rows(out).map((r) => [r.line, r.endpointName, r.credential.kind])).toEqual([
      [1, 'MTR-1', 'certificate'],
      [2, 'MTR-2', 'psk'],
    ]);
    expect(rejections(out)).toEqual([
      { line: 3, reason: 'not valid JSON' },
      { line: 4, reason: 'not a JSON object' },
      { line: 5, reason: 'not a JSON object' },
      { line: 6, reason: 'unknown field "colour"' },
      { line: 7, reason: 'endpointName: must be a string' },
      { line: 9, reason: 'pskKeyBase64: key must be 16 to 64 bytes' },
    ]);
    expect(JSON.stringify(rejections(out))).not.toContain(PSK);
  });
});
