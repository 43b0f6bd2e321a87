/** RFC 9457 problem-details members a server may send beside the stable `code`. */
export interface ProblemDetails {
  type?: string;
  title?: string;
  detail?: string;
  instance?: string;
}

/**
 * A refusal from a Meterkeep service: the HTTP status, the server's stable `code` and message, and
 * RFC 9457 problem-details members when the server sent them. Never carries the API key.
 */
export class MeterkeepApiError extends Error {
  override readonly name = 'MeterkeepApiError';

  constructor(
    readonly status: number,
    /** The server's stable code (`FORBIDDEN`, `DEVICE_NOT_FOUND`, ...); `HTTP_<status>` when it sent none. */
    readonly code: string,
    message: string,
    readonly problem: ProblemDetails = {},
    /** Seconds the server asked to wait (429, 503), when it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** The service could not be reached or did not answer in time (no HTTP answer to read). */
export class MeterkeepTransportError extends Error {
  override readonly name = 'MeterkeepTransportError';
}

const MAX_TEXT = 500;

/** Text from the server, shortened, with the key removed should the server ever echo it. */
export function scrub(text: string, secret: string | undefined): string {
  const short = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
  return secret ? short.split(secret).join('[redacted]') : short;
}

const stringField = (body: Record<string, unknown>, name: string) =>
  typeof body[name] === 'string' ? body[name] : undefined;

/** The error a refused answer stands for, from its parsed body (Meterkeep's `{ code, message }` or a problem). */
export function apiErrorFrom(response: Response, body: unknown, apiKey?: string): MeterkeepApiError {
  const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const clean = (name: string) => {
    const value = stringField(fields, name);
    return value === undefined ? undefined : scrub(value, apiKey);
  };
  const problem: ProblemDetails = {};
  for (const name of ['type', 'title', 'detail', 'instance'] as const) {
    const value = clean(name);
    if (value !== undefined) problem[name] = value;
  }
  const code = /^[A-Z][A-Z0-9_]{0,63}$/.test(stringField(fields, 'code') ?? '')
    ? stringField(fields, 'code')!
    : `HTTP_${response.status}`;
  const message =
    clean('message') ??
    problem.detail ??
    problem.title ??
    (typeof body === 'string' && body ? scrub(body, apiKey) : response.statusText || 'refused');
  const retryAfter = Number(response.headers.get('retry-after'));
  return new MeterkeepApiError(
    response.status,
    code,
    message,
    problem,
    Number.isInteger(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
  );
}
