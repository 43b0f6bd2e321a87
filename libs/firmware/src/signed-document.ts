import { type KeyObject, createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalBytes } from './canonical-json';
import { fromBase64url, keyIdOf, signEs256, verifyEs256 } from './signature';

/** A detached ES256 signature carried in a document's `signature` member. */
export interface DocumentSignature {
  alg: 'ES256';
  keyId: string;
  value: string;
}

/** The bytes a document's signature covers: its RFC 8785 form without the `signature` member. */
export function documentSigningBytes(document: object): Buffer {
  const { signature: _signature, ...unsigned } = document as { signature?: unknown };
  return canonicalBytes(unsigned);
}

/**
 * ES256 over the RFC 8785 canonical form of a document without its `signature` member: erasure and
 * retention certificates (privacy) and decommission records (enrollment) alike.
 */
export function signDocument<T extends object>(
  unsigned: T,
  privateKey: KeyObject,
): T & { signature: DocumentSignature } {
  const value = signEs256(privateKey, documentSigningBytes(unsigned)).toString('base64url');
  return { ...unsigned, signature: { alg: 'ES256', keyId: keyIdOf(privateKey), value } };
}

export type DocumentCheck = { ok: true } | { ok: false; reason: string };

/** A signed document's signature, against a public key the verifier trusts (the key ids must match). */
export function checkDocumentSignature(document: object, publicKey: KeyObject): DocumentCheck {
  const signature = (document as { signature?: DocumentSignature }).signature;
  if (!signature) return { ok: false, reason: 'the document is not signed' };
  if (signature.alg !== 'ES256')
    return { ok: false, reason: `unsupported algorithm ${String(signature.alg)}` };
  if (signature.keyId !== keyIdOf(publicKey))
    return { ok: false, reason: `signed by key ${signature.keyId}, not the trusted key` };
  const bytes = fromBase64url(signature.value);
  if (!bytes || !verifyEs256(publicKey, documentSigningBytes(document), bytes))
    return { ok: false, reason: 'the signature does not verify over the canonical document' };
  return { ok: true };
}

/** sha256:<hex> of a (signed) document's canonical bytes. */
export function documentDigest(document: object): string {
  return `sha256:${createHash('sha256').update(canonicalBytes(document)).digest('hex')}`;
}

/** Reads a document-signing key (PKCS#8 or SEC1 PEM, P-256) from a mounted file. */
export function loadSigningKey(path: string): KeyObject {
  const key = createPrivateKey(readFileSync(path));
  keyIdOf(key); // throws unless P-256
  return key;
}
