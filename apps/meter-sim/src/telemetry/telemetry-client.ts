import type { Agent } from 'node:https';
import {
  type RejectedItem,
  TELEMETRY_BATCH_POST,
  type TelemetryBatch,
  type TelemetryBatchAnswer,
  type TelemetryBatchRefusalCode,
  readDeviceRefusal,
  telemetryBatchAnswer,
} from '@meterkeep/contracts';
import {
  type DeviceResponse,
  type DeviceTlsCredential,
  deviceAgent,
  hopelessTransportError,
  deviceRequest,
} from '../device/device-https';
import { retryDelay, sleepFor } from '../device/backoff';

export type TelemetryErrorCode =
  /** The ingest refused the batch (4xx other than 401/403): sending it again would not help. */
  | 'BATCH_REFUSED'
  /** The ingest refused the meter's credential (401/403, or a TLS alert about it): bootstrap again. */
  | 'CREDENTIAL_REFUSED'
  /** The server's certificate does not chain to the meter's trust anchors, or names another host. */
  | 'SERVER_UNTRUSTED'
  /** A 200 whose body is not a TelemetryBatchAnswer for this batch. */
  | 'BAD_ANSWER'
  /** Still no answer when the deadline passed. */
  | 'GAVE_UP';

export class TelemetryError extends Error {
  constructor(
    readonly code: TelemetryErrorCode,
    message: string,
    readonly details: {
      status?: number;
      /** The ingest's refusal code (the contract's, or another one a newer server or a proxy sent). */
      serverCode?: TelemetryBatchRefusalCode | (string & {});
      attempts: number;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TelemetryError';
  }
}

/** Answer latencies in a fixed number of buckets 1 % apart: bounded memory however many batches. */
export class LatencyHistogram {
  private static readonly MIN_MS = 0.01;
  private static readonly GROWTH = Math.log(1.01);
  private readonly buckets = new Uint32Array(2_000);
  count = 0;

  record(ms: number): void {
    const index = Math.ceil(
      Math.log(Math.max(ms, LatencyHistogram.MIN_MS) / LatencyHistogram.MIN_MS) / LatencyHistogram.GROWTH,
    );
    this.buckets[Math.min(index, this.buckets.length - 1)]! += 1;
    this.count += 1;
  }

  /** The p-th percentile (0-100) in ms, within 1 %; NaN when nothing was recorded. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const [index, n] of this.buckets.entries()) {
      seen += n;
      if (seen >= rank) return LatencyHistogram.MIN_MS * Math.exp(index * LatencyHistogram.GROWTH);
    }
    return Number.NaN;
  }
}

/** What a meter, or a whole fleet sharing one, got from the ingest. */
export class TelemetryStats {
  batches = 0;
  replayed = 0;
  accepted = 0;
  duplicates = 0;
  rejected = 0;
  retries = 0;
  readonly latency = new LatencyHistogram();
  /** The first rejections, for the report. */
  readonly rejections: (RejectedItem & { batchId: string })[] = [];

  record(answer: TelemetryBatchAnswer, latencyMs: number): void {
    this.batches += 1;
    if (answer.replayed) this.replayed += 1;
    this.accepted += answer.accepted;
    this.duplicates += answer.duplicates;
    this.rejected += answer.rejected.length;
    for (const item of answer.rejected.slice(0, Math.max(0, 20 - this.rejections.length)))
      this.rejections.push({ ...item, batchId: answer.batchId });
    this.latency.record(latencyMs);
  }
}

export interface TelemetryClientOptions {
  /** The telemetry server's base URI: servers.telemetry.uri from bootstrap, or an override. */
  uri: string;
  credential: DeviceTlsCredential;
  /** How long one batch keeps being retried before the meter gives up (default 60 s). */
  deadlineMs?: number;
  /** Longest Retry-After honoured (default 30 s); a longer hint is cut to it. */
  maxRetryAfterMs?: number;
  /** How long one attempt waits for its answer (default 15 s). */
  timeoutMs?: number;
  /** Shared by a fleet's meters to count them all together; the client's own otherwise. */
  stats?: TelemetryStats;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface TelemetrySent {
  answer: TelemetryBatchAnswer;
  attempts: number;
  /** Request to answer of the attempt that was answered, ms. */
  latencyMs: number;
}

/**
 * A meter's telemetry uplink: batches over one kept-open mutual-TLS connection with its operational
 * certificate. A batch is sent again, with the same id, after a 503 (when Retry-After says), a 5xx,
 * a lost connection or a timeout, so an answer lost on the way back comes back as a replay rather
 * than a second copy; other refusals end the batch at once.
 */
export class TelemetryClient {
  readonly stats: TelemetryStats;
  private readonly agent: Agent;
  private readonly url: string;

  constructor(private readonly options: TelemetryClientOptions) {
    this.stats = options.stats ?? new TelemetryStats();
    this.agent = deviceAgent(options.credential);
    const base = options.uri.endsWith('/') ? options.uri : `${options.uri}/`;
    // Relative to the base: a telemetry URI with a path prefix keeps it.
    this.url = new URL(TELEMETRY_BATCH_POST.path.slice(1), base).toString();
  }

  async send(batch: TelemetryBatch): Promise<TelemetrySent> {
    const sleep = this.options.sleep ?? sleepFor;
    const random = this.options.random ?? Math.random;
    const deadline = Date.now() + (this.options.deadlineMs ?? 60_000);
    for (let attempts = 1; ; attempts++) {
      const started = performance.now();
      let response: DeviceResponse | undefined;
      let lost: Error | undefined;
      try {
        response = await deviceRequest(this.url, this.agent, batch, { timeoutMs: this.options.timeoutMs });
      } catch (error) {
        lost = this.unlessFatal(error as Error & { code?: string }, attempts);
      }
      const latencyMs = performance.now() - started;
      if (response?.status === 200) {
        const answer = this.answerTo(batch, response.body, attempts);
        this.stats.record(answer, latencyMs);
        return { answer, attempts, latencyMs };
      }
      if (response) this.unlessRetryable(response, attempts);

      // The server's Retry-After is honoured (up to its cap), and the backoff grows all the same.
      const hinted = Math.min(response?.retryAfterSeconds ?? 0, 3_600) * 1000;
      const wait = retryDelay(
        attempts,
        Math.min(hinted, this.options.maxRetryAfterMs ?? 30_000),
        random,
        30_000,
      );
      if (Date.now() + wait > deadline) {
        const why = response ? `${response.status} ${readDeviceRefusal(response.body).code}` : lost!.message;
        throw new TelemetryError(
          'GAVE_UP',
          `batch ${batch.batchId} not answered after ${attempts} attempts (last: ${why})`,
          {
            status: response?.status,
            serverCode: response && readDeviceRefusal(response.body).code,
            attempts,
          },
          { cause: lost },
        );
      }
      this.stats.retries += 1;
      await sleep(wait);
    }
  }

  /** Closes the kept-open connection. */
  close(): void {
    this.agent.destroy();
  }

  private answerTo(batch: TelemetryBatch, body: unknown, attempts: number): TelemetryBatchAnswer {
    const parsed = telemetryBatchAnswer.safeParse(body);
    if (parsed.success && parsed.data.batchId === batch.batchId) return parsed.data;
    throw new TelemetryError(
      'BAD_ANSWER',
      `the answer to batch ${batch.batchId} is not a batch answer for it: ${
        parsed.error?.issues[0]?.message ?? `batchId ${parsed.data?.batchId}`
      }`,
      { status: 200, attempts },
    );
  }

  private unlessRetryable(response: DeviceResponse, attempts: number): void {
    const { status } = response;
    if (status === 503 || status === 429 || status >= 500) return;
    const { code, message } = readDeviceRefusal(response.body);
    const details = { status, serverCode: code, attempts };
    if (status === 401 || status === 403)
      throw new TelemetryError(
        'CREDENTIAL_REFUSED',
        `credential refused (${status} ${code}): ${message}`,
        details,
      );
    throw new TelemetryError('BATCH_REFUSED', `batch refused (${status} ${code}): ${message}`, details);
  }

  /** A transport error worth retrying is returned; one that retrying cannot fix is thrown. */
  private unlessFatal(error: Error & { code?: string }, attempts: number): Error {
    const hopeless = hopelessTransportError(error);
    if (hopeless === 'SERVER_UNTRUSTED')
      throw new TelemetryError(
        hopeless,
        `telemetry server not trusted: ${error.message}`,
        { attempts },
        { cause: error },
      );
    if (hopeless === 'CREDENTIAL_REFUSED')
      throw new TelemetryError(
        hopeless,
        `credential refused in the TLS handshake (${error.code})`,
        { attempts },
        { cause: error },
      );
    return error;
  }
}
