import {
  CSV_FIELD_NAMES,
  type EnrollmentFields,
  type EnrollmentRow,
  type FieldNames,
  JSON_FIELD_NAMES,
  validateEnrollmentFields,
} from '../devices/enrollment-row';
import type { Line } from './line-reader';

export type ListFormat = 'csv' | 'ndjson';

export type LineOutcome =
  | { kind: 'blank' }
  | { kind: 'header' }
  | { kind: 'row'; row: EnrollmentRow }
  | { kind: 'rejected'; line: number; reason: string }
  /** The CSV header is unusable: the whole list is refused. */
  | { kind: 'invalid-header'; message: string };

type FieldKey = keyof EnrollmentFields;

const CSV_COLUMNS = new Map<string, FieldKey>(
  Object.entries(CSV_FIELD_NAMES).map(([key, name]) => [name, key as FieldKey]),
);
const JSON_FIELDS = new Set<string>(Object.values(JSON_FIELD_NAMES));

export function lineProblemReason(problem: 'too-long' | 'not-utf8', maxLineBytes: number): string {
  return problem === 'too-long' ? `line longer than ${maxLineBytes} bytes` : 'line is not valid UTF-8';
}

/**
 * Turns the lines of an enrollment list into validated rows or rejections with their line number.
 * CSV: a header line (as the factory writes it: `endpoint_name,certificate_sha256,model,batch_id,class_id`
 * or `endpoint_name,psk_identity,psk_key_base64,model,batch_id,class_id`; any order; class_id may be absent), then one row per line.
 * NDJSON: one JSON object per line with the same fields in camelCase.
 */
export class EnrollmentListParser {
  private columns: FieldKey[] | undefined;

  constructor(
    readonly format: ListFormat,
    private readonly maxLineBytes: number,
  ) {}

  parse(line: Line): LineOutcome {
    if ('problem' in line) {
      const reason = lineProblemReason(line.problem, this.maxLineBytes);
      // Without its header a CSV list cannot be read at all.
      if (this.format === 'csv' && !this.columns)
        return { kind: 'invalid-header', message: `CSV header: ${reason}` };
      return { kind: 'rejected', line: line.number, reason };
    }
    if (line.text.trim() === '') return { kind: 'blank' };
    if (this.format === 'ndjson') return this.parseJsonLine(line.number, line.text);
    if (!this.columns) return this.parseHeader(line.text);
    return this.parseCsvRow(line.number, line.text);
  }

  private parseHeader(text: string): LineOutcome {
    const split = splitCsvLine(text);
    if (!Array.isArray(split)) return { kind: 'invalid-header', message: `CSV header: ${split.error}` };
    const columns: FieldKey[] = [];
    for (const raw of split) {
      const name = raw.trim().toLowerCase();
      const key = CSV_COLUMNS.get(name);
      if (!key) {
        return {
          kind: 'invalid-header',
          message: `CSV header: unknown column ${JSON.stringify(name.slice(0, 40))}; expected ${[...CSV_COLUMNS.keys()].join(', ')}`,
        };
      }
      if (columns.includes(key))
        return { kind: 'invalid-header', message: `CSV header: column ${name} appears twice` };
      columns.push(key);
    }
    if (!columns.includes('endpointName'))
      return { kind: 'invalid-header', message: 'CSV header: endpoint_name column missing' };
    const psk = columns.includes('pskIdentity') || columns.includes('pskKeyBase64');
    if (psk && !(columns.includes('pskIdentity') && columns.includes('pskKeyBase64'))) {
      return { kind: 'invalid-header', message: 'CSV header: psk_identity and psk_key_base64 go together' };
    }
    if (!psk && !columns.includes('certificateSha256')) {
      return {
        kind: 'invalid-header',
        message: 'CSV header: needs certificate_sha256, or psk_identity and psk_key_base64',
      };
    }
    this.columns = columns;
    return { kind: 'header' };
  }

  private parseCsvRow(number: number, text: string): LineOutcome {
    const columns = this.columns!;
    const split = splitCsvLine(text);
    if (!Array.isArray(split)) return { kind: 'rejected', line: number, reason: split.error };
    if (split.length !== columns.length) {
      return {
        kind: 'rejected',
        line: number,
        reason: `expected ${columns.length} fields, found ${split.length}`,
      };
    }
    const fields: EnrollmentFields = {};
    columns.forEach((key, i) => (fields[key] = split[i]));
    return this.validated(number, fields, CSV_FIELD_NAMES);
  }

  private parseJsonLine(number: number, text: string): LineOutcome {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Never the parser's message: it quotes the input, which may hold a PSK.
      return { kind: 'rejected', line: number, reason: 'not valid JSON' };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { kind: 'rejected', line: number, reason: 'not a JSON object' };
    }
    const fields: EnrollmentFields = {};
    for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
      if (!JSON_FIELDS.has(name)) {
        return {
          kind: 'rejected',
          line: number,
          reason: `unknown field ${JSON.stringify(name.slice(0, 40))}`,
        };
      }
      if (field === null || field === undefined) continue;
      if (typeof field !== 'string')
        return { kind: 'rejected', line: number, reason: `${name}: must be a string` };
      fields[name as FieldKey] = field;
    }
    return this.validated(number, fields, JSON_FIELD_NAMES);
  }

  private validated(number: number, fields: EnrollmentFields, names: FieldNames): LineOutcome {
    const result = validateEnrollmentFields(fields, names);
    return result.ok
      ? { kind: 'row', row: { line: number, ...result.row } }
      : { kind: 'rejected', line: number, reason: result.reason };
  }
}

/**
 * One CSV record on one line (RFC 4180 quoting: "a,b" and "" inside quotes; no line breaks inside a
 * field). Unquoted fields are trimmed.
 */
export function splitCsvLine(text: string): string[] | { error: string } {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote === -1) return { error: 'unterminated quoted field' };
        value += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      while (text[i] === ' ' || text[i] === '\t') i++;
      if (i < text.length && text[i] !== ',') return { error: 'characters after a closing quote' };
      fields.push(value);
    } else {
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) return { error: 'a quote inside an unquoted field' };
      fields.push(value.trim());
      i = end;
    }
    if (i >= text.length) return fields;
    i++; // the comma
    if (i === text.length) {
      fields.push('');
      return fields;
    }
  }
}
