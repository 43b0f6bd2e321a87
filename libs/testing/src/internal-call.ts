import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { serviceIdentity } from '@meterkeep/local-stack';

export interface InternalAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
}

/**
 * A call to a service's internal listener as `as` (a service name: its identity from the local
 * platform CA), or with no client certificate (null): the way another service calls it.
 */
export function internalCall<T = Record<string, unknown>>(
  baseUrl: string,
  path: string,
  options: { as: string | null; method?: string; json?: unknown },
): Promise<InternalAnswer<T>> {
  const identity = serviceIdentity(options.as ?? 'anonymous');
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      new URL(path, baseUrl),
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ca: readFileSync(identity.PLATFORM_CA_FILE, 'utf8'),
        ...(options.as !== null && {
          cert: readFileSync(identity.SERVICE_TLS_CERT_FILE, 'utf8'),
          key: readFileSync(identity.SERVICE_TLS_KEY_FILE, 'utf8'),
        }),
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
          resolve({ status: incoming.statusCode ?? 0, body: parsed as T, text });
        });
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}
