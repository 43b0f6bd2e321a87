import { type KeyObject, createHash, createPrivateKey, createPublicKey } from 'node:crypto';

/** Why a submitted key is not an update authority; the key itself never appears in a refusal. */
export type UpdateAuthorityKeyRefusal = 'PRIVATE_KEY_REFUSED' | 'KEY_UNREADABLE' | 'KEY_TYPE_UNSUPPORTED';

export type ParsedUpdateAuthorityKey =
  { ok: true; keyId: string; publicKeyPem: string } | { ok: false; refusal: UpdateAuthorityKeyRefusal };

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]{1,40})-----\r?\n([A-Za-z0-9+/=\r\n]{1,4000})-----END \1-----/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const refuse = (refusal: UpdateAuthorityKeyRefusal): ParsedUpdateAuthorityKey => ({ ok: false, refusal });

/** Whether DER bytes parse as a private key (PKCS#8 or SEC1), whatever label they came under. */
function isPrivateKeyDer(der: Buffer): boolean {
  for (const type of ['pkcs8', 'sec1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return true;
    } catch {
      // not this format
    }
  }
  return false;
}

/**
 * Reads an update authority's key as an operator submits it: exactly one PEM `PUBLIC KEY` block (SPKI)
 * of an EC key on P-256, nothing else around it. Anything carrying a private key is refused first,
 * whatever its label (Node would happily derive a public key from a private one). The key id is the
 * hex SHA-256 of the SPKI DER; the PEM answered is re-encoded from the parsed key.
 */
export function parseUpdateAuthorityKey(text: string): ParsedUpdateAuthorityKey {
  // A space never occurs in base64: this matches labels (and prose), never a public key's body.
  if (/PRIVATE KEY/i.test(text)) return refuse('PRIVATE_KEY_REFUSED');
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const outside = text.replace(PEM_BLOCK, '').trim();
  if (blocks.length !== 1 || outside !== '') return refuse('KEY_UNREADABLE');
  const [, label, body] = blocks[0]!;
  const base64 = body!.replace(/\r?\n/g, '');
  if (!BASE64.test(base64)) return refuse('KEY_UNREADABLE');
  const der = Buffer.from(base64, 'base64');
  if (isPrivateKeyDer(der)) return refuse('PRIVATE_KEY_REFUSED');
  if (label !== 'PUBLIC KEY') return refuse('KEY_UNREADABLE');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return refuse('KEY_UNREADABLE');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    return refuse('KEY_TYPE_UNSUPPORTED');
  const spki = key.export({ type: 'spki', format: 'der' });
  return {
    ok: true,
    keyId: createHash('sha256').update(spki).digest('hex'),
    publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
