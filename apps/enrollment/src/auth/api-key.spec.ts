import { describe, expect, it } from 'vitest';
import { generateApiKey, hashSecret, parseApiKey, secretMatches } from './api-key';

describe('API keys', () => {
  it('have the form mk_<12 base32 chars>_<43 base64url chars> and parse back', () => {
    const key = generateApiKey();
    expect(key.token).toMatch(/^mk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiKey(key.token);
    expect(parsed?.keyId).toBe(key.keyId);
    expect(Buffer.from(parsed!.secret, 'base64url')).toHaveLength(32);
    expect(hashSecret(parsed!.secret).equals(key.secretSha256)).toBe(true);
  });

  it('are different every time', () => {
    const keys = Array.from({ length: 50 }, () => generateApiKey());
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(50);
    expect(new Set(keys.map((k) => k.token)).size).toBe(50);
  });

  it('store only a SHA-256 of the secret, which verifies the right secret only', () => {
    const key = generateApiKey();
    const { secret } = parseApiKey(key.token)!;
    expect(key.secretSha256).toHaveLength(32);
    expect(key.secretSha256.toString('hex')).not.toContain(secret);
    expect(secretMatches(secret, key.secretSha256)).toBe(true);
    const other = parseApiKey(generateApiKey().token)!.secret;
    expect(secretMatches(other, key.secretSha256)).toBe(false);
    expect(secretMatches(secret, Buffer.alloc(3))).toBe(false);
  });

  it.each([
    '',
    'mk_',
    'mk_abcdefghijkl',
    'mk_ABCDEFGHIJKL_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'mk_abcdefghijk1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'mk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'mk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    'xx_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ' mk_abcdefghijkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  ])('refuses the malformed key %j', (token) => {
    expect(parseApiKey(token)).toBeUndefined();
  });
});
