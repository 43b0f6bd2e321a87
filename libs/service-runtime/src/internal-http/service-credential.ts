import { INTERNAL_TOKEN_HEADER } from '@meterkeep/contracts';

/**
 * What identifies this service to the one it calls. A piece of its own so that the way services
 * authenticate to each other can change (the shared token today, mutual TLS with the platform CA
 * later: a credential that sets `init.dispatcher` to an agent with this service's certificate) without
 * touching a client or a caller.
 */
export interface ServiceCredential {
  /** What kind of credential it is, for logs: never the secret itself. */
  readonly kind: string;
  /** Adds the credential to an outgoing request: a header, or a TLS dispatcher. */
  apply(init: RequestInit & { headers: Headers }): void;
}

/** The shared INTERNAL_API_TOKEN, sent as x-internal-token. */
export function internalTokenCredential(token: string): ServiceCredential {
  return {
    kind: INTERNAL_TOKEN_HEADER,
    apply: (init) => init.headers.set(INTERNAL_TOKEN_HEADER, token),
  };
}
