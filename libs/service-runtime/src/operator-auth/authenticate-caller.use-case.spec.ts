import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Caller } from '../auth/caller';
import { DomainError } from '../errors/domain-error';
import { mutualTlsCredential } from '../internal-http/service-credential';
import { testCa, testIdentity } from '../testing';
import { OperatorAuthErrors } from './operator-auth.errors';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';
import type { EnrollmentApiKeysClient } from './enrollment-api-keys.client';

const KEY = `mk_abcdefghijkl_${'A'.repeat(43)}`;
const caller: Caller = { tenantId: 't', keyId: 'abcdefghijkl', role: 'operator', actor: 'key_abcdefghijkl' };

function setup(answers: (() => Promise<Caller | undefined>)[], cacheTtlMs?: number) {
  const introspect = vi.fn((_key: string) => answers.shift()!());
  const client = { introspect } as unknown as EnrollmentApiKeysClient;
  const useCase = new AuthenticateCallerUseCase(client, {
    enrollmentUrl: 'https://enrollment',
    credential: mutualTlsCredential(testIdentity(testCa(), 'privacy')),
    ...(cacheTtlMs !== undefined && { cacheTtlMs }),
  });
  return { introspect, useCase };
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof DomainError ? error.code : String(error)),
  );

describe('AuthenticateCallerUseCase', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('refuses a missing or malformed header without asking enrollment', async () => {
    const { introspect, useCase } = setup([]);
    for (const header of [undefined, '', 'Basic abc', 'Bearer', `Bearer ${'a'.repeat(513)}`])
      expect(await codeOf(useCase.execute(header))).toBe('UNAUTHENTICATED');
    expect(introspect).not.toHaveBeenCalled();
  });

  it('trusts a positive answer for 30 s, then asks again', async () => {
    const { introspect, useCase } = setup([() => Promise.resolve(caller), () => Promise.resolve(caller)]);
    expect(await useCase.execute(`Bearer ${KEY}`)).toEqual(caller);
    vi.advanceTimersByTime(29_999);
    expect(await useCase.execute(`Bearer ${KEY}`)).toEqual(caller);
    expect(introspect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    await useCase.execute(`Bearer ${KEY}`);
    expect(introspect).toHaveBeenCalledTimes(2);
    expect(introspect).toHaveBeenCalledWith(KEY);
  });

  it('never trusts an answer longer than 30 s, whatever it is configured to', async () => {
    const { introspect, useCase } = setup(
      [() => Promise.resolve(caller), () => Promise.resolve(caller)],
      3_600_000,
    );
    await useCase.execute(`Bearer ${KEY}`);
    vi.advanceTimersByTime(30_000);
    await useCase.execute(`Bearer ${KEY}`);
    expect(introspect).toHaveBeenCalledTimes(2);
  });

  it('remembers a refusal for 5 s: a flood of one bogus bearer asks enrollment once', async () => {
    const { introspect, useCase } = setup([() => Promise.resolve(undefined), () => Promise.resolve(caller)]);
    for (let i = 0; i < 50; i++)
      expect(await codeOf(useCase.execute(`Bearer ${KEY}`))).toBe('UNAUTHENTICATED');
    expect(introspect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5_000);
    expect(await useCase.execute(`Bearer ${KEY}`)).toEqual(caller);
    expect(introspect).toHaveBeenCalledTimes(2);
  });

  it('never caches an outage', async () => {
    const { introspect, useCase } = setup([
      () => Promise.reject(OperatorAuthErrors.unavailable()),
      () => Promise.resolve(caller),
    ]);
    expect(await codeOf(useCase.execute(`Bearer ${KEY}`))).toBe('AUTH_UNAVAILABLE');
    expect(await useCase.execute(`Bearer ${KEY}`)).toEqual(caller);
    expect(introspect).toHaveBeenCalledTimes(2);
  });

  it('asks once for concurrent requests with the same key', async () => {
    let answer!: (value: Caller) => void;
    const { introspect, useCase } = setup([() => new Promise((resolve) => (answer = resolve))]);
    const requests = [1, 2, 3].map(() => useCase.execute(`Bearer ${KEY}`));
    answer(caller);
    expect(await Promise.all(requests)).toEqual([caller, caller, caller]);
    expect(introspect).toHaveBeenCalledTimes(1);
  });

  it('drops a cached key when enrollment revokes it, and only that key', async () => {
    const other: Caller = { ...caller, keyId: 'mnopqrstuvwx', actor: 'key_mnopqrstuvwx' };
    const OTHER = `mk_mnopqrstuvwx_${'B'.repeat(43)}`;
    const { introspect, useCase } = setup([
      () => Promise.resolve(caller),
      () => Promise.resolve(other),
      () => Promise.resolve(undefined),
    ]);
    await useCase.execute(`Bearer ${KEY}`);
    await useCase.execute(`Bearer ${OTHER}`);
    // The same key id in another tenant is another key.
    useCase.revoked('another-tenant', caller.keyId);
    expect(await useCase.execute(`Bearer ${KEY}`)).toEqual(caller);
    useCase.revoked(caller.tenantId, caller.keyId);
    expect(await codeOf(useCase.execute(`Bearer ${KEY}`))).toBe('UNAUTHENTICATED');
    expect(await useCase.execute(`Bearer ${OTHER}`)).toEqual(other);
    expect(introspect).toHaveBeenCalledTimes(3);
  });

  it('does not cache an answer that was in flight when its key was revoked', async () => {
    let answer!: (value: Caller) => void;
    const { introspect, useCase } = setup([
      () => new Promise((resolve) => (answer = resolve)),
      () => Promise.resolve(undefined),
    ]);
    const request = useCase.execute(`Bearer ${KEY}`);
    useCase.revoked(caller.tenantId, caller.keyId);
    answer(caller);
    expect(await codeOf(request)).toBe('UNAUTHENTICATED');
    vi.advanceTimersByTime(5_000);
    expect(await codeOf(useCase.execute(`Bearer ${KEY}`))).toBe('UNAUTHENTICATED');
    expect(introspect).toHaveBeenCalledTimes(2);
  });
});
