import type { ExecutionContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors/domain-error';
import { INTERNAL_TOKEN_HEADER, InternalTokenGuard } from './internal-token.guard';

const TOKEN = 'a'.repeat(32);

const requestWith = (headers: Record<string, unknown>) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers }) }) }) as unknown as ExecutionContext;

const refusal = (guard: InternalTokenGuard, headers: Record<string, unknown>) => {
  try {
    guard.canActivate(requestWith(headers));
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('InternalTokenGuard', () => {
  it('lets through the configured token', () => {
    expect(new InternalTokenGuard(TOKEN).canActivate(requestWith({ [INTERNAL_TOKEN_HEADER]: TOKEN }))).toBe(
      true,
    );
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { [INTERNAL_TOKEN_HEADER]: 'b'.repeat(32) }],
    ['a prefix of the token', { [INTERNAL_TOKEN_HEADER]: TOKEN.slice(0, 31) }],
    ['a repeated header', { [INTERNAL_TOKEN_HEADER]: [TOKEN, TOKEN] }],
  ])('refuses %s: 401 UNAUTHENTICATED', (_, headers) => {
    const error = refusal(new InternalTokenGuard(TOKEN), headers);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      kind: 'unauthenticated',
      code: 'UNAUTHENTICATED',
      message: 'This internal route needs a valid x-internal-token',
    });
  });

  it('refuses every call when no token is configured', () => {
    const guard = new InternalTokenGuard(undefined);
    expect(refusal(guard, { [INTERNAL_TOKEN_HEADER]: TOKEN })).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(refusal(guard, {})).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
