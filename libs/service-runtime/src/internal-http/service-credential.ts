import { Agent } from 'node:https';
import type { ServiceIdentity } from '../internal-listener/service-identity';
import type { ServiceIdentityFiles } from '../internal-listener/service-identity-files';

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
  /** Connections carrying this service's certificate and trusting only the platform CA (read per request). */
  readonly agent: Agent;
}

/** Long enough for any internal call under way on a retired agent's connections to finish. */
const RETIRED_AGENT_DRAIN_MS = 60_000;

function agentOf(identity: ServiceIdentity): Agent {
  return new Agent({
    cert: identity.certificatePem,
    key: identity.keyPem,
    ca: identity.platformCaPem,
    minVersion: 'TLSv1.2',
    keepAlive: true,
  });
}

/** This service's platform certificate, presented on every internal call (pooled keep-alive). */
export function mutualTlsCredential(identity: ServiceIdentity): ServiceCredential {
  return { kind: 'mutual-tls', name: identity.name, agent: agentOf(identity) };
}

/**
 * The identity its files hold now: a renewed certificate (or platform CA) takes a new agent, so new
 * connections present it; the old agent's idle connections close now, those under way after their call.
 */
export function reloadingMutualTlsCredential(files: ServiceIdentityFiles): ServiceCredential {
  let agent = agentOf(files.current);
  files.onChange((identity) => {
    const retired = agent;
    agent = agentOf(identity);
    for (const sockets of Object.values(retired.freeSockets))
      for (const socket of sockets ?? []) socket.destroy();
    setTimeout(() => retired.destroy(), RETIRED_AGENT_DRAIN_MS).unref();
  });
  return {
    kind: 'mutual-tls',
    name: files.current.name,
    get agent() {
      return agent;
    },
  };
}
