import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PkiError } from '@meterkeep/pki';
import { DomainError, httpStatusOf } from '@meterkeep/service-runtime';
import type { DeviceRecord } from '../read-model/read-model.records';
import { claimLapsed } from '../read-model/read-model.records';
import { renewalPolicy } from './operational-issuance';
import { pskProofMessage } from './psk-proof';
import { rateWindow } from './rate-window';
import { admit, chainRefusal, csrRefusal } from './refusals';

const codeOf = (error: unknown) => {
  expect(error).toBeInstanceOf(DomainError);
  const e = error as DomainError;
  return `${httpStatusOf(e.kind)} ${e.code}`;
};
const thrown = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

const device = (overrides: Partial<DeviceRecord> = {}): DeviceRecord => ({
  tenantId: 'north',
  endpointName: 'MTR-1',
  status: 'ENROLLED',
  credential: { kind: 'certificate', fingerprintSha256: 'ab'.repeat(32) },
  occurredAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

describe('rate windows', () => {
  it('numbers one-minute windows and says how long is left, at least a second', () => {
    expect(rateWindow(120_000, 60_000)).toEqual({ id: 2, retryAfterSeconds: 60 });
    expect(rateWindow(120_001, 60_000)).toEqual({ id: 2, retryAfterSeconds: 60 });
    expect(rateWindow(179_000, 60_000)).toEqual({ id: 2, retryAfterSeconds: 1 });
    expect(rateWindow(179_999, 60_000)).toEqual({ id: 2, retryAfterSeconds: 1 });
    expect(rateWindow(180_000, 60_000)).toEqual({ id: 3, retryAfterSeconds: 60 });
  });
});

describe('refusals', () => {
  it('maps certificate path failures: expiry, revocation, anything else invalid', () => {
    expect(codeOf(chainRefusal(new PkiError('EXPIRED', 'x')))).toBe('403 CERTIFICATE_EXPIRED');
    expect(codeOf(chainRefusal(new PkiError('REVOKED', 'x')))).toBe('403 CERTIFICATE_REVOKED');
    for (const code of [
      'NOT_YET_VALID',
      'BAD_SIGNATURE',
      'WRONG_ISSUER',
      'EXTENDED_KEY_USAGE',
      'UNTRUSTED_ROOT',
    ] as const)
      expect(codeOf(chainRefusal(new PkiError(code, 'x')))).toBe('403 CERTIFICATE_INVALID');
    const unexpected = new Error('database down');
    expect(thrown(() => chainRefusal(unexpected))).toBe(unexpected);
  });

  it('maps CSR failures: key type, subject, and malformed requests', () => {
    expect(codeOf(csrRefusal(new PkiError('UNSUPPORTED_KEY', 'x')))).toBe('403 CSR_KEY_UNSUPPORTED');
    expect(codeOf(csrRefusal(new PkiError('UNSUPPORTED_ALGORITHM', 'x')))).toBe('403 CSR_KEY_UNSUPPORTED');
    expect(codeOf(csrRefusal(new PkiError('CSR_SUBJECT_MISMATCH', 'x')))).toBe('403 CSR_SUBJECT_MISMATCH');
    expect(codeOf(csrRefusal(new PkiError('MALFORMED', 'x')))).toBe('400 INVALID_REQUEST');
    expect(codeOf(csrRefusal(new PkiError('CSR_BAD_SIGNATURE', 'x')))).toBe('400 INVALID_REQUEST');
  });

  it('admits ENROLLED and ACTIVE meters only', () => {
    expect(() => admit(device({ status: 'ENROLLED' }))).not.toThrow();
    expect(() => admit(device({ status: 'ACTIVE' }))).not.toThrow();
    expect(codeOf(thrown(() => admit(device({ status: 'SUSPENDED' }))))).toBe('403 DEVICE_SUSPENDED');
    expect(codeOf(thrown(() => admit(device({ status: 'DECOMMISSIONED' }))))).toBe(
      '403 DEVICE_DECOMMISSIONED',
    );
  });

  it('treats an unbootstrapped claim past its expiry as lapsed, and only that', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    expect(claimLapsed(device({ claimExpiresAt: '2026-05-31T23:59:59Z' }), now)).toBe(true);
    expect(claimLapsed(device({ claimExpiresAt: '2026-06-01T00:00:01Z' }), now)).toBe(false);
    expect(claimLapsed(device(), now)).toBe(false);
    expect(claimLapsed(device({ status: 'ACTIVE', claimExpiresAt: '2026-01-01T00:00:00Z' }), now)).toBe(
      false,
    );
  });
});

describe('the PSK proof message', () => {
  it('is utf8(nonce) || 0x00 || sha256(csr DER), as the device API says', () => {
    const nonce = randomBytes(32).toString('base64url');
    const csrDer = randomBytes(300);
    const message = pskProofMessage(nonce, csrDer);
    expect(message).toEqual(
      Buffer.concat([Buffer.from(nonce), Buffer.from([0]), createHash('sha256').update(csrDer).digest()]),
    );
    expect(message).toHaveLength(43 + 1 + 32);
    // What the meter computes and enrollment checks:
    const psk = randomBytes(32);
    const proof = createHmac('sha256', psk).update(message).digest('base64');
    expect(proof).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('changes with the CSR, so a captured proof cannot certify another key', () => {
    const nonce = 'n'.repeat(43);
    expect(pskProofMessage(nonce, Buffer.from('a')).equals(pskProofMessage(nonce, Buffer.from('b')))).toBe(
      false,
    );
  });
});

describe('the renewal policy', () => {
  it('asks for renewal once two thirds of the validity have passed', () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2026-01-07T00:00:00Z');
    expect(renewalPolicy(notBefore, notAfter)).toEqual({
      notAfter: '2026-01-07T00:00:00.000Z',
      renewAfter: '2026-01-05T00:00:00.000Z',
    });
  });
});
