import type { ListenerKind } from '@meterkeep/service-runtime';

const CRL = /^\/bs\/v1\/tenants\/[^/]+\/crl$/;

/**
 * Which paths each listener serves. The mutual-TLS listener serves the device API only; the plain
 * one (cluster-internal: probes, operators) serves health, docs and the public PKI material, never a
 * device route, so nothing that needs a client certificate is reachable without TLS. Internal routes
 * answer on the internal listener only (the runtime's internalRouting).
 */
export function servesPath(listener: ListenerKind, path: string): boolean {
  if (listener === 'device') return path.startsWith('/bs/');
  return (
    path.startsWith('/health/') ||
    path === '/docs' ||
    path.startsWith('/docs/') ||
    path === '/docs-json' ||
    path === '/bs/v1/server-ca' ||
    CRL.test(path)
  );
}
