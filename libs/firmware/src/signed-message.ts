import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalBytes } from './canonical-json';
import { parseBoundedJson } from './envelope';
import { BASE64URL, fromBase64url, signEs256, toBase64url, verifyEs256 } from './signature';

/**
 * A small signed object as `{ "<field>": <object>, "signature": "<base64url DER>" }`: the signature is
 * ES256 over the JCS bytes of the object, so anyone holding the public key (or openssl, given the JCS
 * bytes) checks it. Used by directives (distributor → meter) and receipts (meter → distributor).
 */

/** Directives and receipts are a few hundred bytes; the bound leaves ten times that. */
export const MAX_SIGNED_MESSAGE_BYTES = 8 * 1024;

export function signMessage<T>(field: string, value: T, schema: z.ZodType<T>, privateKey: KeyObject): Buffer {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RangeError(
      `The ${field} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const signature = signEs256(privateKey, canonicalBytes(parsed.data));
  return canonicalBytes({ [field]: parsed.data, signature: toBase64url(signature) });
}

export type OpenedMessage<T> =
  | { readonly ok: true; readonly value: T; readonly canonicalBytes: Buffer }
  | { readonly ok: false; readonly failure: 'malformed' | 'signature'; readonly message: string };

/** Parses (bounded, strict) and verifies; never throws. */
export function openMessage<T>(
  bytes: Uint8Array,
  field: string,
  schema: z.ZodType<T>,
  publicKey: KeyObject,
): OpenedMessage<T> {
  try {
    if (bytes.length > MAX_SIGNED_MESSAGE_BYTES) {
      return {
        ok: false,
        failure: 'malformed',
        message: `${bytes.length} bytes exceed ${MAX_SIGNED_MESSAGE_BYTES}`,
      };
    }
    const json = parseBoundedJson(bytes, MAX_SIGNED_MESSAGE_BYTES);
    if (json === undefined) return { ok: false, failure: 'malformed', message: 'not UTF-8 JSON' };
    const shape = z.strictObject({ [field]: schema, signature: z.string().regex(BASE64URL) });
    const parsed = shape.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const failure = issue.path[0] === 'signature' ? 'signature' : 'malformed';
      return { ok: false, failure, message: `${issue.path.join('.') || '(root)'}: ${issue.message}` };
    }
    const value = parsed.data[field] as T;
    const signed = canonicalBytes(value);
    const signature = fromBase64url(parsed.data.signature as string);
    if (!signature || !verifyEs256(publicKey, signed, signature)) {
      return { ok: false, failure: 'signature', message: `the ${field} signature does not verify` };
    }
    return { ok: true, value, canonicalBytes: signed };
  } catch (error) {
    return {
      ok: false,
      failure: 'malformed',
      message: `unexpected: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
