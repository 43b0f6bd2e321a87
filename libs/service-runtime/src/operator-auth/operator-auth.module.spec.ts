import type { FactoryProvider, ValueProvider } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { mutualTlsCredential } from '../internal-http/service-credential';
import { testCa, testIdentity } from '../testing';
import { revocationsGroupId } from './api-key-revocations.consumer';
import { OperatorAuthModule } from './operator-auth.module';
import { ENROLLMENT_AUTH, OPERATOR_AUTH_SERVICE } from './operator-auth.tokens';

const providerOf = (module: ReturnType<typeof OperatorAuthModule.forRoot>, token: symbol) =>
  module.providers!.find((p) => typeof p === 'object' && 'provide' in p && p.provide === token);

describe('OperatorAuthModule.forRoot', () => {
  it('gives each replica a revocation group of its own, named after its service', () => {
    const [a, b] = [revocationsGroupId('ota-distributor'), revocationsGroupId('ota-distributor')];
    expect(a).toMatch(/^ota-distributor-api-key-revocations-[0-9a-f-]{36}$/);
    expect(b).not.toBe(a);
  });

  it('takes the service and enrollment settings from its options, the credential from the service core', () => {
    const module = OperatorAuthModule.forRoot({
      service: 'privacy',
      enrollmentUrl: 'https://enrollment:8443',
      timeoutMs: 1_000,
    });
    expect(module.global).toBe(true);
    expect((providerOf(module, OPERATOR_AUTH_SERVICE) as ValueProvider).useValue).toBe('privacy');
    const credential = mutualTlsCredential(testIdentity(testCa(), 'privacy'));
    const options = providerOf(module, ENROLLMENT_AUTH) as FactoryProvider;
    expect(options.useFactory(credential)).toEqual({
      enrollmentUrl: 'https://enrollment:8443',
      timeoutMs: 1_000,
      credential,
    });
  });
});
