import type { Agent } from 'node:https';
import { z } from 'zod';
import {
  OTA_CHECK_IN,
  OTA_DEVICE_MAX_BODY_BYTES,
  OTA_DOWNLOAD_URL,
  OTA_EXECUTION_MANIFEST,
  OTA_EXECUTION_RECEIPT,
  OTA_EXECUTION_STATUS,
  type OTA_REPORTABLE_STATES,
  type OtaCheckInQuery,
  type OtaDeviceRefusalCode,
  type OtaStatusReport,
  otaCheckInAnswer,
  otaCheckInQuery,
  otaDownloadUrlAnswer,
  otaDownloadUrlRequest,
  otaReceiptAnswer,
  otaStatusAnswer,
  otaStatusReport,
  readDeviceRefusal,
  signedDirective,
  signedReceipt,
} from '@meterkeep/contracts';
import { MAX_ENVELOPE_BYTES, MAX_SIGNED_MESSAGE_BYTES } from '@meterkeep/firmware';
import { retryDelay, sleepFor } from '../device/backoff';
import {
  AnswerTooLarge,
  type DeviceExchange,
  type DeviceTlsCredential,
  deviceAgent,
  hopelessTransportError,
  retryAfterSeconds,
  deviceExchange,
} from '../device/device-https';
import type { MeterStorage } from '../device/meter-storage';
import type { CheckInAnswer, CheckInReport, DistributorPort, StatusReport } from './distributor-port';
import type { UpdateStateName } from './update-state';

export type DistributorErrorCode =
  /** The distributor refused the request (a 4xx other than 401/403): its code is in `serverCode`. */
  | 'REFUSED'
  /** The distributor refused the meter's credential (401/403, or a TLS alert about it). */
  | 'CREDENTIAL_REFUSED'
  /** The server's certificate does not chain to the anchors bootstrap gave, or names another host. */
  | 'SERVER_UNTRUSTED'
  /** An answer that is not the contract's: wrong schema, not JSON, larger than the meter reads. */
  | 'BAD_ANSWER'
  /** Still busy (429, 503), failing (5xx) or unreachable when the request's deadline passed. */
  | 'UNAVAILABLE';

export class DistributorError extends Error {
  constructor(
    readonly code: DistributorErrorCode,
    message: string,
    readonly details: {
      status?: number;
      /** The distributor's refusal code (the contract's, or one a newer server or a proxy sent). */
      serverCode?: OtaDeviceRefusalCode | (string & {});
      /** The server's last Retry-After, in seconds: the meter asks again no sooner. */
      retryAfterSeconds?: number;
    } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DistributorError';
  }
}

export interface DistributorHttpClientOptions {
  /** The distributor's base URI: `servers.ota.uri` from bootstrap, or an override (same server). */
  readonly baseUrl: string;
  /** The operational key and certificate chain, and the server CAs bootstrap named. */
  readonly credential: DeviceTlsCredential;
  /** The meter's non-volatile memory: the check-in's ETag and last answer survive a restart there. */
  readonly storage?: MeterStorage;
  /** How long one attempt waits for its answer (default 15 s). */
  readonly timeoutMs?: number;
  /** How long one request keeps being retried (429, 503, 5xx, lost connection), default 60 s. */
  readonly deadlineMs?: number;
  /** Longest single wait for a Retry-After (default 30 s); a longer one ends the request as UNAVAILABLE. */
  readonly maxRetryAfterMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/** Largest check-in answer read: a signed directive and a few fields. */
export const CHECK_IN_MAX_ANSWER_BYTES = MAX_SIGNED_MESSAGE_BYTES + 1024;
/** Largest answer of the other routes (a status, a receipt answer, a presigned URL). */
export const SMALL_MAX_ANSWER_BYTES = 16 * 1024;

const CACHE_FILE = 'ota-check-in.json';
/** The last 200 check-in answer and its ETag, kept to ask with If-None-Match and to reuse on 304. */
const checkInCache = z.strictObject({
  etag: z.string().max(256),
  /** The query it answered: a different one (another installed manifest) is asked afresh. */
  query: otaCheckInQuery,
  signedDirective: signedDirective.optional(),
  pollAfterSeconds: otaCheckInAnswer.shape.pollAfterSeconds,
});
type CheckInCache = z.infer<typeof checkInCache>;

type ReportableState = (typeof OTA_REPORTABLE_STATES)[number];

/**
 * The engine's states as the distributor's status route takes them; `null` for states it has no
 * equivalent of, which are not sent (the distributor alone decides SUCCEEDED, on a receipt, and
 * CANCELLED; DOWNLOAD_PAUSED is still DOWNLOADING to it; VERIFYING and the holds sit between states it
 * has). Exhaustive: a new engine state must be placed here.
 */
const REPORTED_AS = {
  IDLE: null,
  CHECKING: null,
  NOTIFIED: 'NOTIFIED',
  DOWNLOADING: 'DOWNLOADING',
  DOWNLOAD_PAUSED: null,
  DOWNLOADED: 'DOWNLOADED',
  VERIFYING: null,
  VERIFIED: 'VERIFIED',
  WAITING_WINDOW: null,
  WAITING_FORCE_TIME: null,
  DOWNLOAD_ONLY_HOLD: null,
  INSTALLING: 'INSTALLING',
  REBOOTING: 'REBOOTING',
  CONFIRMING: 'CONFIRMING',
  SUCCEEDED: null,
  FAILED: 'FAILED',
  REJECTED: 'REJECTED',
  ROLLED_BACK: 'ROLLED_BACK',
  CANCELLED: null,
} as const satisfies Record<UpdateStateName, ReportableState | null>;

/** The status report the distributor takes for an engine report, or undefined when none is sent. */
export function statusReportFor(status: StatusReport): OtaStatusReport | undefined {
  const state: ReportableState | null =
    status.state === 'SUCCEEDED' && status.failureCode === 'ALREADY_INSTALLED'
      ? 'ALREADY_INSTALLED'
      : REPORTED_AS[status.state];
  if (state === null) return undefined;
  const failureCode =
    status.failureCode !== undefined && status.failureCode !== 'ALREADY_INSTALLED'
      ? { failureCode: status.failureCode }
      : {};
  return otaStatusReport.parse({
    state,
    attempt: status.attempt,
    seq: status.seq,
    ...(status.progressPercent !== undefined && { progressPercent: status.progressPercent }),
    ...failureCode,
  });
}

/** `max-age` of a Cache-Control header, as the check-in's poll interval on a 304. */
function maxAge(header: string | undefined): number | undefined {
  const match = /(?:^|,)\s*max-age=(\d{1,7})\s*(?:,|$)/.exec(header ?? '');
  const parsed = otaCheckInAnswer.shape.pollAfterSeconds.safeParse(match ? Number(match[1]) : undefined);
  return parsed.success ? parsed.data : undefined;
}

/** Where a schema failed, without the values (an answer may hold a presigned URL). */
const whereInvalid = (error: z.ZodError) =>
  error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`)
    .join('; ');

/**
 * The meter's side of the distributor's device API (OTA_DEVICE_ROUTES): one kept-open mutual-TLS
 * connection with the operational certificate, the server trusted only if it chains to the anchors
 * bootstrap gave. Every answer is read up to a bound and parsed with the contract's schema before the
 * engine sees it; the engine then verifies what is signed. Check-ins carry If-None-Match, and a 304
 * returns the last answer. 429 and 503 are waited out as Retry-After says (with growing backoff), as
 * are 5xx and lost connections, until the request's deadline. Nothing here is logged, and no error
 * names a URL: a presigned URL is a secret.
 */
export class DistributorHttpClient implements DistributorPort {
  private readonly agent: Agent;
  private readonly base: string;
  private cache: CheckInCache | undefined;

  constructor(private readonly options: DistributorHttpClientOptions) {
    this.agent = deviceAgent(options.credential);
    this.base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.cache = this.loadCache();
  }

  async checkIn(report: CheckInReport): Promise<CheckInAnswer> {
    const query = otaCheckInQuery.parse({
      installed: report.installed,
      seq: String(report.seq),
      slot: report.slot,
      ...(report.hardwareRevision !== undefined && { hardwareRevision: report.hardwareRevision }),
    } satisfies OtaCheckInQuery);
    const url = this.url(OTA_CHECK_IN.path);
    url.search = new URLSearchParams(query).toString();
    const cached = this.cache && sameQuery(this.cache.query, query) ? this.cache : undefined;
    const response = await this.exchange('check-in', url, {
      method: 'GET',
      headers: { accept: 'application/json', ...(cached && { 'if-none-match': cached.etag }) },
      maxBodyBytes: CHECK_IN_MAX_ANSWER_BYTES,
    });
    if (response.status === 304) {
      if (!cached)
        throw new DistributorError('BAD_ANSWER', 'check-in: 304 to a request without If-None-Match');
      const date = Date.parse(String(response.headers.date));
      return {
        ...(cached.signedDirective && { directive: directiveBytes(cached.signedDirective) }),
        pollAfterSeconds: maxAge(response.headers['cache-control']) ?? cached.pollAfterSeconds,
        ...(Number.isFinite(date) && { serverTime: new Date(date) }),
      };
    }
    const answer = this.parse('check-in', response, otaCheckInAnswer);
    const etag = response.headers.etag;
    this.saveCache(
      etag && etag.length <= 256
        ? {
            etag,
            query,
            ...(answer.directive && { signedDirective: answer.directive }),
            pollAfterSeconds: answer.pollAfterSeconds,
          }
        : undefined,
    );
    return {
      ...(answer.directive && { directive: directiveBytes(answer.directive) }),
      pollAfterSeconds: answer.pollAfterSeconds,
      serverTime: new Date(answer.serverTime),
    };
  }

  async fetchManifest(executionId: string): Promise<Uint8Array> {
    const response = await this.exchange('manifest', this.url(OTA_EXECUTION_MANIFEST.path, executionId), {
      method: 'GET',
      headers: { accept: 'application/json' },
      maxBodyBytes: MAX_ENVELOPE_BYTES,
    });
    this.parse('manifest', response, OTA_EXECUTION_MANIFEST.responses[200]);
    return response.bytes; // the exact bytes: the engine verifies the envelope
  }

  async downloadUrl(executionId: string, component: string, delta: boolean): Promise<string> {
    const request = otaDownloadUrlRequest.parse({ component, delta });
    const response = await this.exchange('download-url', this.url(OTA_DOWNLOAD_URL.path, executionId), {
      method: 'POST',
      body: request,
      maxBodyBytes: SMALL_MAX_ANSWER_BYTES,
    });
    return this.parse('download-url', response, otaDownloadUrlAnswer).url;
  }

  async postStatus(executionId: string, status: StatusReport): Promise<void> {
    const report = statusReportFor(status);
    if (!report) return;
    const response = await this.exchange('status', this.url(OTA_EXECUTION_STATUS.path, executionId), {
      method: 'POST',
      body: report,
      maxBodyBytes: SMALL_MAX_ANSWER_BYTES,
    });
    this.parse('status', response, otaStatusAnswer);
  }

  async postReceipt(executionId: string, signed: Uint8Array): Promise<void> {
    const bytes = Buffer.from(signed);
    signedReceipt.parse(JSON.parse(bytes.toString('utf8'))); // the contract's shape, sent as signed
    const response = await this.exchange('receipt', this.url(OTA_EXECUTION_RECEIPT.path, executionId), {
      method: 'POST',
      body: bytes,
      maxBodyBytes: SMALL_MAX_ANSWER_BYTES,
    });
    this.parse('receipt', response, otaReceiptAnswer);
  }

  /** Closes the kept-open connection. */
  close(): void {
    this.agent.destroy();
  }

  private url(path: string, executionId?: string): URL {
    const filled =
      executionId === undefined ? path : path.replace(':executionId', encodeURIComponent(executionId));
    // Relative to the base: an OTA URI with a path prefix keeps it.
    return new URL(filled.slice(1), this.base);
  }

  /** A 200 parsed with the route's schema, or the refusal raised with its code. */
  private parse<T>(route: string, response: DeviceExchange, schema: z.ZodType<T>): T {
    if (response.status !== 200) throw refusal(route, response);
    let json: unknown;
    try {
      json = JSON.parse(response.bytes.toString('utf8'));
    } catch {
      throw new DistributorError('BAD_ANSWER', `${route}: the answer is not JSON`, { status: 200 });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new DistributorError(
        'BAD_ANSWER',
        `${route}: the answer is not the contract's (${whereInvalid(parsed.error)})`,
        {
          status: 200,
        },
      );
    return parsed.data;
  }

  /** One request, retried while the server is busy or unreachable, until the deadline. */
  private async exchange(
    route: string,
    url: URL,
    {
      method,
      headers = {},
      body,
      maxBodyBytes,
    }: { method: string; headers?: Record<string, string>; body?: unknown; maxBodyBytes: number },
  ): Promise<DeviceExchange> {
    const sleep = this.options.sleep ?? sleepFor;
    const random = this.options.random ?? Math.random;
    const deadline = Date.now() + (this.options.deadlineMs ?? 60_000);
    const payload =
      body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    if (payload && payload.length > OTA_DEVICE_MAX_BODY_BYTES)
      throw new RangeError(`${route}: a ${payload.length}-byte request is over the device API's limit`);
    for (let attempt = 1; ; attempt++) {
      let response: DeviceExchange | undefined;
      let lost: Error | undefined;
      try {
        response = await deviceExchange(url, this.agent, {
          method,
          headers: payload ? { ...headers, 'content-type': 'application/json' } : headers,
          body: payload,
          timeoutMs: this.options.timeoutMs,
          maxBodyBytes,
        });
      } catch (error) {
        lost = unlessFatal(route, error as Error & { code?: string });
      }
      if (response && !retryable(response)) return response;
      const hinted = response && retryAfterSeconds(header(response, 'retry-after'));
      const cap = this.options.maxRetryAfterMs ?? 30_000;
      const wait = retryDelay(attempt, (hinted ?? 0) * 1000, random, 30_000);
      if ((hinted ?? 0) * 1000 > cap || Date.now() + wait > deadline) {
        const why = response
          ? `${response.status} ${readDeviceRefusal(jsonOf(response)).code}`
          : lost!.message;
        throw new DistributorError(
          'UNAVAILABLE',
          `${route}: no answer after ${attempt} attempts (last: ${why})`,
          {
            ...(response && {
              status: response.status,
              serverCode: readDeviceRefusal(jsonOf(response)).code,
            }),
            ...(hinted !== undefined && { retryAfterSeconds: hinted }),
          },
          { cause: lost },
        );
      }
      await sleep(wait);
    }
  }

  private loadCache(): CheckInCache | undefined {
    const text = this.options.storage?.read(CACHE_FILE);
    if (!text) return undefined;
    try {
      return checkInCache.parse(JSON.parse(text));
    } catch {
      return undefined; // a cache that does not read is no cache: the next check-in asks afresh
    }
  }

  private saveCache(cache: CheckInCache | undefined): void {
    this.cache = cache;
    this.options.storage?.write(CACHE_FILE, cache ? JSON.stringify(cache) : '');
  }
}

const sameQuery = (a: OtaCheckInQuery, b: OtaCheckInQuery) =>
  a.installed === b.installed && a.seq === b.seq && a.slot === b.slot;

/** The signed directive as the bytes the engine verifies (its signature covers the inner object's JCS). */
const directiveBytes = (signed: z.infer<typeof signedDirective>) => Buffer.from(JSON.stringify(signed));

const header = (response: DeviceExchange, name: string): string | undefined => {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function jsonOf(response: DeviceExchange): unknown {
  try {
    return JSON.parse(response.bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** 503 and 5xx, and 429 unless it is final for this execution (its status reports are used up). */
function retryable(response: DeviceExchange): boolean {
  const { status } = response;
  if (status === 429) return readDeviceRefusal(jsonOf(response)).code !== 'STATUS_LIMIT_REACHED';
  return status >= 500;
}

function refusal(route: string, response: DeviceExchange): DistributorError {
  const { code, message } = readDeviceRefusal(jsonOf(response));
  const details = { status: response.status, serverCode: code };
  const text = `${route} refused (${response.status} ${code})${message ? `: ${message.slice(0, 200)}` : ''}`;
  return new DistributorError(
    response.status === 401 || response.status === 403 ? 'CREDENTIAL_REFUSED' : 'REFUSED',
    text,
    details,
  );
}

/** A transport error worth retrying is returned; one that retrying cannot fix is thrown. */
function unlessFatal(route: string, error: Error & { code?: string }): Error {
  if (error instanceof AnswerTooLarge)
    throw new DistributorError('BAD_ANSWER', `${route}: ${error.message}, not read`, {}, { cause: error });
  const hopeless = hopelessTransportError(error);
  if (hopeless === 'SERVER_UNTRUSTED')
    throw new DistributorError(
      hopeless,
      `${route}: distributor not trusted (${error.code})`,
      {},
      { cause: error },
    );
  if (hopeless === 'CREDENTIAL_REFUSED')
    throw new DistributorError(
      hopeless,
      `${route}: credential refused in the TLS handshake (${error.code})`,
      {},
      { cause: error },
    );
  return error;
}
