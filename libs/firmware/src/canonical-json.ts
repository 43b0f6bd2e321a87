/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes a manifest, directive or receipt is
 * signed over. Members sorted by their names' UTF-16 code units, no whitespace, strings escaped as
 * ECMAScript's JSON.stringify escapes them, numbers in ECMAScript Number-to-String form (§3.2.2.3),
 * which is what JSON.stringify writes for a finite number (-0 included, written 0).
 *
 * Refused (thrown), because I-JSON (RFC 7493) has no place for them: NaN and ±Infinity, strings with a
 * lone surrogate, and any value JSON cannot hold (undefined in an array or at the top, bigint,
 * functions, symbols, class instances such as Date or Buffer). An object member whose value is
 * undefined is left out, as JSON.stringify leaves it out, so a value and its JSON round trip
 * canonicalise alike. Nesting deeper than MAX_DEPTH is refused: no signed object here comes close.
 */
export const MAX_CANONICAL_DEPTH = 32;

export class CanonicalizationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalizationError';
  }
}

// A lone high surrogate (not followed by a low one) or a lone low surrogate (not preceded by a high one).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serializeString(value: string, where: string): string {
  if (LONE_SURROGATE.test(value)) throw new CanonicalizationError(`${where}: string with a lone surrogate`);
  return JSON.stringify(value);
}

function serialize(value: unknown, depth: number, where: string): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value, where);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizationError(`${where}: ${value} is not a JSON number`);
      return JSON.stringify(value); // ECMAScript Number::toString; -0 gives "0"
    case 'object':
      break;
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      throw new CanonicalizationError(`${where}: a ${typeof value} is not JSON`);
  }
  if (value === null) return 'null';
  if (depth >= MAX_CANONICAL_DEPTH) {
    throw new CanonicalizationError(`${where}: nested deeper than ${MAX_CANONICAL_DEPTH}`);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item, i) => serialize(item, depth + 1, `${where}[${i}]`)).join(',')}]`;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new CanonicalizationError(`${where}: only plain objects are JSON objects`);
  }
  const record = value as Record<string, unknown>;
  // Array#sort without a comparator orders strings by UTF-16 code units, which is what §3.2.3 asks.
  const names = Object.keys(record).sort();
  const members: string[] = [];
  for (const name of names) {
    const member = record[name];
    if (member === undefined) continue;
    members.push(`${serializeString(name, where)}:${serialize(member, depth + 1, `${where}.${name}`)}`);
  }
  return `{${members.join(',')}}`;
}

/** The RFC 8785 canonical form of a JSON value, as a string (encode it as UTF-8 to sign it). */
export function canonicalize(value: unknown): string {
  return serialize(value, 0, '$');
}

/** The canonical form as the UTF-8 bytes that are hashed and signed. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
