import {
  ContractViolationError,
  type EventEnvelope,
  type TopicContract,
  validateEvent,
} from '@meterkeep/contracts';

/** Why a record cannot be handled, as the dead-letter reason says it: `<code>: <detail>`. */
export type UndecodableCode = 'empty-value' | 'invalid-json' | 'contract-violation';

export type DecodeResult<T> = { ok: true; event: T } | { ok: false; code: UndecodableCode; reason: string };

/** Validates and serialises one event; throws ContractViolationError before anything is sent. */
export function encodeEvent<T extends EventEnvelope>(contract: TopicContract<T>, event: T): string {
  return JSON.stringify(validateEvent(contract, event));
}

/** Parses and validates a record value; never throws, so the consumer can dead-letter what fails. */
export function decodeEvent<T extends EventEnvelope>(
  contract: TopicContract<T>,
  value: Buffer | string | null,
): DecodeResult<T> {
  if (value === null || value.length === 0) {
    return { ok: false, code: 'empty-value', reason: 'empty-value: the record has no value' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, code: 'invalid-json', reason: `invalid-json: ${detail}` };
  }
  try {
    return { ok: true, event: validateEvent(contract, parsed) };
  } catch (error) {
    if (error instanceof ContractViolationError) {
      return {
        ok: false,
        code: 'contract-violation',
        reason: `contract-violation: ${error.issues.join('; ')}`,
      };
    }
    throw error;
  }
}
