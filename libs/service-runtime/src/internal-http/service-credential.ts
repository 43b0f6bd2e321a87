import { Agent } from 'node:https';
import type { ServiceIdentity } from '../internal-listener/service-identity';

/**
 * What identifies this service to the one it calls: mutual TLS with its platform certificate, the
 * called service's certificate checked against the platform CA. A piece of its own so that a client
 * or a caller never handles the key.
 */
export interface ServiceCredential {
  /** What kind of credential it is, for logs: never the secret itself. */
  readonly kind: string;
  /** The service this credential names (the CN of its certificate). */
  readonly name: string;
  /** Connections carrying this service's certificate and trusting only the platform CA. */
  readonly agent: Agent;
}

/** This service's platform certificate, presented on every internal call (pooled keep-alive). */
export function mutualTlsCredential(identity: ServiceIdentity): ServiceCredential {
  return {
    kind: 'mutual-tls',
    name: identity.name,
    agent: new Agent({
      cert: identity.certificatePem,
      key: identity.keyPem,
      ca: identity.platformCaPem,
      minVersion: 'TLSv1.2',
      keepAlive: true,
    }),
  };
}
