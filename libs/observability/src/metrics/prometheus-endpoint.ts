import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

export const METRICS_PATH = '/metrics';

export interface PrometheusEndpoint {
  /** What Prometheus reads from: register it as a reader of the meter provider. */
  readonly reader: PrometheusExporter;
  /** Resolves with the endpoint's URL once it listens; rejects when it cannot (a port in use). */
  readonly listening: Promise<string>;
  close(): Promise<void>;
}

/**
 * A plain-HTTP scrape endpoint on its own port, apart from the service's listeners (never the
 * device listener's): GET /metrics and nothing else. The exporter's own server is not used, so the
 * port may be 0 (tests) and the address is known once it listens.
 */
export function startPrometheusEndpoint(port: number, host: string): PrometheusEndpoint {
  const reader = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path === METRICS_PATH) {
      reader.getMetricsRequestHandler(request, response);
      return;
    }
    response.statusCode = 404;
    response.end();
  });
  // A scrape is a small GET: nothing slow is worth waiting for.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.maxHeadersCount = 50;
  const listening = new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve(`http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}${METRICS_PATH}`);
    });
  });
  // The caller awaits it; this only keeps an early failure from being an unhandled rejection.
  listening.catch(() => undefined);
  return {
    reader,
    listening,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
