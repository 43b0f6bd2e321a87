import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';

export interface DeviceTlsCredential {
  /** PEM private key and certificate chain (leaf first) the meter presents; absent for PSK meters. */
  keyPem?: string;
  certChainPem?: string;
  /** The CA(s) the server's certificate must chain to: the only ones the meter trusts. */
  trustAnchorPem: string | string[];
}

export interface DeviceResponse {
  status: number;
  retryAfterSeconds?: number;
  body: unknown;
}

/**
 * A meter's connection to an operational server, kept open between requests (one socket unless told
 * otherwise): the handshake is paid once per meter, not once per batch.
 */
export function deviceAgent(credential: DeviceTlsCredential, { maxSockets = 1 } = {}): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets,
    ca: credential.trustAnchorPem,
    ...(credential.keyPem && { key: credential.keyPem, cert: credential.certChainPem }),
  });
}

/**
 * One request as a meter makes it: the server authenticated against the meter's own trust anchor
 * only, the meter's certificate offered when it has one. Given a credential, a new TLS connection (no
 * pooling); given a deviceAgent, over its kept-open connection.
 */
export function deviceRequest(
  url: string,
  credential: DeviceTlsCredential | Agent,
  body: unknown,
  { timeoutMs = 15_000, method = 'POST' }: { timeoutMs?: number; method?: string } = {},
): Promise<DeviceResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ...(credential instanceof Agent
          ? { agent: credential }
          : {
              agent: false,
              ca: credential.trustAnchorPem,
              ...(credential.keyPem && { key: credential.keyPem, cert: credential.certChainPem }),
            }),
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
          const retryAfter = retryAfterSeconds(response.headers['retry-after']);
          resolve({
            status: response.statusCode ?? 0,
            body: parsed,
            ...(retryAfter !== undefined && { retryAfterSeconds: retryAfter }),
          });
        });
        response.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(
        Object.assign(new Error(`no answer from ${url} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
      ),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Errors raised while checking the server's certificate: the meter will not talk to that server. */
const SERVER_TRUST_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** TLS alerts a server sends when it refuses the meter's certificate in the handshake. */
const CREDENTIAL_ALERT =
  /^ERR_SSL_\w*ALERT_(BAD_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_REQUIRED|UNKNOWN_CA|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/;

/**
 * A transport error that retrying cannot fix: the server is not one the meter trusts, or it refused the
 * meter's certificate in the handshake. Anything else (a reset, a timeout) is worth another attempt.
 */
export function hopelessTransportError(error: {
  code?: string;
}): 'SERVER_UNTRUSTED' | 'CREDENTIAL_REFUSED' | undefined {
  const code = error.code ?? '';
  if (SERVER_TRUST_ERRORS.has(code)) return 'SERVER_UNTRUSTED';
  if (CREDENTIAL_ALERT.test(code)) return 'CREDENTIAL_REFUSED';
  return undefined;
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), at most an hour. */
export function retryAfterSeconds(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header.length > 64) return undefined;
  const seconds = /^\d{1,7}$/.test(header.trim())
    ? Number(header.trim())
    : Math.ceil((Date.parse(header) - now) / 1000);
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), 3600) : undefined;
}

export interface DeviceExchange {
  status: number;
  headers: IncomingHttpHeaders;
  /** The answer's exact bytes, at most `maxBodyBytes`. */
  bytes: Buffer;
}

/** Raised when an answer announces or sends more than the caller reads; the connection is dropped. */
export class AnswerTooLarge extends Error {
  readonly code = 'ANSWER_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`answer larger than ${limit} bytes`);
    this.name = 'AnswerTooLarge';
  }
}

/**
 * One request over a meter's kept-open connection, reading at most `maxBodyBytes` of the answer: a
 * larger Content-Length is refused before a byte is read, a body that runs past the limit is cut and its
 * connection destroyed. The URL is not put in any error (a presigned one would be a secret).
 */
export function deviceExchange(
  url: URL,
  agent: Agent,
  {
    method = 'GET',
    headers = {},
    body,
    timeoutMs = 15_000,
    maxBodyBytes,
  }: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer;
    timeoutMs?: number;
    maxBodyBytes: number;
  },
): Promise<DeviceExchange> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(error);
    };
    const req = request(
      url,
      {
        method,
        agent,
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
        timeout: timeoutMs,
      },
      (response) => {
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBodyBytes) {
          fail(new AnswerTooLarge(maxBodyBytes));
          response.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxBodyBytes) {
            fail(new AnswerTooLarge(maxBodyBytes));
            response.destroy();
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            bytes: Buffer.concat(chunks),
          });
        });
        response.on('error', fail);
        response.on('aborted', () =>
          fail(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' })),
        );
      },
    );
    req.on('timeout', () =>
      fail(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', fail);
    req.end(body);
  });
}
