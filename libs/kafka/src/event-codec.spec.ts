import { ContractViolationError, defineTopic, eventEnvelope } from '@meterkeep/contracts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeEvent, encodeEvent } from './event-codec';
import { PermanentEventError, isPermanentError } from './event-errors';

const contract = defineTopic({
  name: 'meter.readings.v1',
  schema: eventEnvelope.extend({ kwh: z.number().nonnegative() }),
  key: (event) => event.tenantId,
  partitions: 1,
  example: {
    eventId: '2f1c7f5e-8a3b-4c1d-9e2f-1a2b3c4d5e6f',
    tenantId: 't1',
    occurredAt: '2026-01-01T00:00:00Z',
    kwh: 1.5,
  },
});

describe('decodeEvent', () => {
  it('returns the validated event', () => {
    expect(decodeEvent(contract, Buffer.from(JSON.stringify(contract.example)))).toEqual({
      ok: true,
      event: contract.example,
    });
  });

  it('names broken JSON, schema violations and empty values', () => {
    expect(decodeEvent(contract, Buffer.from('{nope'))).toMatchObject({ ok: false, code: 'invalid-json' });
    const invalid = decodeEvent(contract, Buffer.from(JSON.stringify({ ...contract.example, kwh: -1 })));
    expect(invalid).toMatchObject({ ok: false, code: 'contract-violation' });
    expect(invalid.ok ? '' : invalid.reason).toMatch(/^contract-violation: kwh: /);
    expect(decodeEvent(contract, null)).toMatchObject({ ok: false, code: 'empty-value' });
  });
});

describe('encodeEvent', () => {
  it('refuses an invalid event before anything is serialised', () => {
    expect(() => encodeEvent(contract, { ...contract.example, kwh: -1 })).toThrow(ContractViolationError);
    expect(JSON.parse(encodeEvent(contract, contract.example))).toEqual(contract.example);
  });
});

describe('isPermanentError', () => {
  it('knows PermanentEventError, flagged errors and contract violations; everything else is transient', () => {
    expect(isPermanentError(new PermanentEventError('unknown meter'))).toBe(true);
    expect(isPermanentError(Object.assign(new Error('flagged'), { permanent: true }))).toBe(true);
    expect(isPermanentError(new ContractViolationError('a.b.v1', ['x: bad']))).toBe(true);
    expect(isPermanentError(new Error('connection reset'))).toBe(false);
    expect(isPermanentError({ permanent: 'yes' })).toBe(false);
    expect(isPermanentError(undefined)).toBe(false);
  });
});
