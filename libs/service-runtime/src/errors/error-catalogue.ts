import type { RefusalStatus } from '@meterkeep/contracts';
import { DomainError, type DomainErrorKind } from './domain-error';

const KIND_OF_STATUS: Record<RefusalStatus, DomainErrorKind> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'too-large',
  415: 'unsupported-media-type',
  422: 'unprocessable',
  429: 'rate-limited',
  503: 'unavailable',
};

/** One refusal a module answers: its code, status (from the contract), kind and documented message. */
export interface ErrorDefinition<C extends string = string> {
  code: C;
  status: RefusalStatus;
  kind: DomainErrorKind;
  /** The message it answers with; `…` stands for the detail a particular refusal adds. */
  message: string;
}

/**
 * A module's refusals, one place: the codes and statuses come from the API's contract, the messages
 * from the module. `error` makes the DomainError (typed code, kind from the status); the OpenAPI
 * description of a route is generated from the same definitions (see ApiRefusals).
 */
export interface ErrorCatalogue<C extends string> {
  readonly definitions: { readonly [K in C]: ErrorDefinition<K> };
  readonly error: (
    code: C,
    message?: string,
    options?: { details?: Record<string, unknown>; retryAfterSeconds?: number },
  ) => DomainError;
}

export function errorCatalogue<C extends string>(
  statuses: Readonly<Record<C, RefusalStatus>>,
  messages: Readonly<Record<C, string>>,
): ErrorCatalogue<C> {
  const codes = Object.keys(statuses) as C[];
  const definitions = Object.fromEntries(
    codes.map((code) => [
      code,
      { code, status: statuses[code], kind: KIND_OF_STATUS[statuses[code]], message: messages[code] },
    ]),
  ) as { [K in C]: ErrorDefinition<K> };
  return {
    definitions,
    error: (code, message = definitions[code].message, options = {}) =>
      new DomainError(definitions[code].kind, code, message, options.details, options.retryAfterSeconds),
  };
}
