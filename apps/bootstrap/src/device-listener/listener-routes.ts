import { INTERNAL_PATH_PREFIX } from '@meterkeep/contracts';
import type { ListenerKind } from '@meterkeep/service-runtime';

const CRL = /^\/bs\/v1\/tenants\/[^/]+\/crl$/;

/**
 * Which paths each listener serves. The mutual-TLS listener serves the device API only; the plain
 * one (cluster-internal: probes, operators, other services) serves health, docs, the public PKI
 * material and the internal routes, never a device route, so nothing that needs a client certificate
 * is reachable without TLS, and nothing internal is reachable by meters.
 */
export function servesPath(listener: ListenerKind, path: string): boolean {
  if (listener === 'device') return path.startsWith('/bs/');
  return (
    path.startsWith('/health/') ||
    path === '/docs' ||
    path.startsWith('/docs/') ||
    path === '/docs-json' ||
    path === '/bs/v1/server-ca' ||
    CRL.test(path) ||
    path.startsWith(INTERNAL_PATH_PREFIX)
  );
}
