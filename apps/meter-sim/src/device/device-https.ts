import { request } from 'node:https';

export interface DeviceTlsCredential {
  /** PEM private key and certificate chain (leaf first) the meter presents; absent for PSK meters. */
  keyPem?: string;
  certChainPem?: string;
  /** The CA the server's certificate must chain to: the only one the meter trusts. */
  trustAnchorPem: string;
}

export interface DeviceResponse {
  status: number;
  retryAfterSeconds?: number;
  body: unknown;
}

/**
 * One request as a meter makes it: a new TLS connection (no pooling), the server authenticated
 * against the meter's own trust anchor only, the meter's certificate offered when it has one.
 */
export function deviceRequest(
  url: string,
  credential: DeviceTlsCredential,
  body: unknown,
  { timeoutMs = 15_000, method = 'POST' }: { timeoutMs?: number; method?: string } = {},
): Promise<DeviceResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        ca: credential.trustAnchorPem,
        ...(credential.keyPem && { key: credential.keyPem, cert: credential.certChainPem }),
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON (a CRL, a PEM): keep the text
          }
          const retryAfter = Number(response.headers['retry-after']);
          resolve({
            status: response.statusCode ?? 0,
            body: parsed,
            ...(Number.isFinite(retryAfter) && { retryAfterSeconds: retryAfter }),
          });
        });
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
