import { describe, expect, it } from 'vitest';
import { bearerToken } from './caller';

describe('bearerToken', () => {
  it('reads the bearer token of an Authorization header', () => {
    expect(bearerToken('Bearer mk_x')).toBe('mk_x');
    expect(bearerToken('bearer  mk_x')).toBe('mk_x');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
