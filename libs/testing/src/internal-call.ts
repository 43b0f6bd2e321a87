import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { type ServiceIdentityPems, serviceIdentity } from '@meterkeep/local-stack';

export interface InternalAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  headers: IncomingHttpHeaders;
}

/**
 * A call to a service's internal listener as `as` (a service name: its identity from the local
 * platform CA; or a certificate and key of the test's own making, such as one from another CA), or
 * with no client certificate (null): the way another service calls it.
 */
export function internalCall<T = Record<string, unknown>>(
  baseUrl: string,
  path: string,
  options: { as: string | ServiceIdentityPems | null; method?: string; json?: unknown },
): Promise<InternalAnswer<T>> {
  const { as } = options;
  const platform = serviceIdentity(typeof as === 'string' ? as : 'anonymous');
  const client =
    as === null
      ? undefined
      : typeof as === 'string'
        ? {
            cert: readFileSync(platform.SERVICE_TLS_CERT_FILE, 'utf8'),
            key: readFileSync(platform.SERVICE_TLS_KEY_FILE, 'utf8'),
          }
        : { cert: as.certificatePem, key: as.keyPem };
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      new URL(path, baseUrl),
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ca: readFileSync(platform.PLATFORM_CA_FILE, 'utf8'),
        ...client,
        agent: false,
      },
      (incoming) => {
        let text = '';
        incoming.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        incoming.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: incoming.statusCode ?? 0, body: parsed as T, text, headers: incoming.headers });
        });
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}
