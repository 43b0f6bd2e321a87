import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64KeySchema, hostnameListSchema, httpUrlSchema, httpsUrlSchema } from './value-schemas';

const messages = (result: { error?: { issues: { message: string }[] } }) =>
  result.error?.issues.map((issue) => issue.message);

describe('value schemas', () => {
  it('read a base64 key of exactly 32 bytes', () => {
    const key = randomBytes(32);
    expect(base64KeySchema('SOME_KEK').parse(key.toString('base64'))).toEqual(key);
    for (const bad of [randomBytes(16).toString('base64'), `${key.toString('base64')}!`, 'not base64'])
      expect(messages(base64KeySchema('SOME_KEK').safeParse(bad))).toEqual([
        'SOME_KEK: 32 bytes, base64-encoded (openssl rand -base64 32)',
      ]);
    expect(messages(base64KeySchema().safeParse('short'))).toEqual([
      'must be 32 bytes, base64-encoded (openssl rand -base64 32)',
    ]);
  });

  it('read comma-separated DNS names and IP addresses', () => {
    expect(hostnameListSchema.parse(' a.example, 10.0.0.1 ,::1,')).toEqual(['a.example', '10.0.0.1', '::1']);
    expect(messages(hostnameListSchema.safeParse('ok.example,bad_name'))).toEqual([
      'each entry must be a DNS name or an IP address',
    ]);
    expect(hostnameListSchema.safeParse(`${'a'.repeat(64)}.example`).success).toBe(false);
    expect(hostnameListSchema.safeParse(' , ').success).toBe(false);
  });

  it('refuse URLs of other schemes, with messages that say what is wanted', () => {
    expect(httpUrlSchema.parse('http://enrollment:3001')).toBe('http://enrollment:3001');
    expect(messages(httpUrlSchema.safeParse('ftp://x'))).toEqual(['must be an http:// or https:// URL']);
    expect(messages(httpsUrlSchema.safeParse('http://x'))).toEqual(['must be an https:// URL']);
  });
});
