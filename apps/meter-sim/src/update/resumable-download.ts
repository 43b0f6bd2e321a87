import { closeSync, existsSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { downloadHttpFailure, type FirmwareFailureCode } from '@meterkeep/firmware';

/**
 * One attempt at fetching an image into a partial file, resuming with `Range: bytes=N-` from the
 * persisted offset. The URL is untrusted and never logged; the bytes are checked later against the
 * signed digest. Reading stops at the signed size: a body that goes beyond it is refused.
 */
export interface DownloadAttempt {
  readonly url: string;
  /** The signed size: nothing beyond it is read. */
  readonly size: number;
  readonly partPath: string;
  /** The persisted offset: bytes of the partial file up to it are vouched for, beyond it torn. */
  readonly offset: number;
  /** Persists the offset after the bytes before it are written. */
  readonly onProgress: (offset: number) => void;
  /** Fault injection: drop the connection after this many bytes of this attempt. */
  readonly dropAtBytes?: number;
  /** Fault injection: the link's rate; the meter reads no faster. */
  readonly slowBytesPerSecond?: number;
  /** Low-speed abort: below this average rate over `lowSpeedWindowMs`, stop and resume later. */
  readonly minBytesPerSecond: number;
  readonly lowSpeedWindowMs: number;
  readonly monotonicMs: () => number;
  /** How often a stalled connection is checked against the low-speed rule. */
  readonly lowSpeedCheckEveryMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

export type DownloadOutcome =
  | { readonly ok: true; readonly fetched: number }
  /** Resumable: the offset is kept (network loss, low speed). */
  | {
      readonly ok: false;
      readonly paused: true;
      readonly reason: string;
      readonly fetched: number;
      readonly code?: FirmwareFailureCode;
    }
  /** Not resumable: the partial file is worthless. */
  | {
      readonly ok: false;
      readonly paused: false;
      readonly code: FirmwareFailureCode;
      readonly message: string;
      readonly fetched: number;
    };

/** The offset a resume may trust: the persisted one, never more than the file holds. */
export function resumeOffset(partPath: string, persisted: number): number {
  if (!existsSync(partPath)) return 0;
  return Math.min(persisted, statSync(partPath).size);
}

function contentRangeStart(header: string | undefined): number | undefined {
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header ?? '');
  return match ? Number(match[1]) : undefined;
}

export function downloadOnce(attempt: DownloadAttempt): Promise<DownloadOutcome> {
  let offset = resumeOffset(attempt.partPath, attempt.offset);
  // Bytes past the persisted offset may be torn (killed between write and persist): cut them.
  const fd = openSync(attempt.partPath, existsSync(attempt.partPath) ? 'r+' : 'w+', 0o600);
  ftruncateSync(fd, offset);
  let fetched = 0;

  return new Promise<DownloadOutcome>((resolve) => {
    let settled = false;
    let ticker: NodeJS.Timeout | undefined;
    let windowStart = attempt.monotonicMs();
    let windowBytes = 0;
    const finish = (outcome: DownloadOutcome) => {
      if (settled) return;
      settled = true;
      if (ticker) clearInterval(ticker);
      request.destroy();
      closeSync(fd);
      resolve(outcome);
    };
    const tooSlow = (): boolean => {
      const elapsed = attempt.monotonicMs() - windowStart;
      if (elapsed < attempt.lowSpeedWindowMs) return false;
      if (windowBytes * 1000 < attempt.minBytesPerSecond * elapsed) {
        finish({
          ok: false,
          paused: true,
          code: 'DOWNLOAD_SLOW',
          reason: `below ${attempt.minBytesPerSecond} B/s over ${attempt.lowSpeedWindowMs} ms`,
          fetched,
        });
        return true;
      }
      windowStart = attempt.monotonicMs();
      windowBytes = 0;
      return false;
    };

    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const get = attempt.url.startsWith('https:') ? httpsGet : httpGet;
    const request = get(attempt.url, { headers }, (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      if (status === 403) {
        // What S3 answers for a presigned URL past its expiry: the next attempt asks for a fresh one.
        finish({ ok: false, paused: true, code: 'DOWNLOAD_URL_EXPIRED', reason: 'HTTP 403', fetched });
        return;
      }
      if (status >= 400) {
        finish({
          ok: false,
          paused: false,
          code: downloadHttpFailure(status),
          message: `HTTP ${status}`,
          fetched,
        });
        return;
      }
      if (status === 200 && offset > 0) {
        // The server ignored the range: start over rather than append the image to itself.
        offset = 0;
        ftruncateSync(fd, 0);
      } else if (status === 206) {
        if (contentRangeStart(response.headers['content-range']) !== offset) {
          finish({
            ok: false,
            paused: false,
            code: 'DIGEST_MISMATCH',
            message: 'range answer at another offset',
            fetched,
          });
          return;
        }
      } else if (status !== 200) {
        finish({
          ok: false,
          paused: false,
          code: downloadHttpFailure(502),
          message: `HTTP ${status}`,
          fetched,
        });
        return;
      }
      const declared = Number(response.headers['content-length'] ?? Number.NaN);
      if (Number.isFinite(declared) && offset + declared > attempt.size) {
        // Endless or trailing data announced: refused before a byte is read.
        finish({
          ok: false,
          paused: false,
          code: 'SIZE_EXCEEDED',
          message: `body ends past the signed ${attempt.size} bytes`,
          fetched,
        });
        return;
      }
      ticker = setInterval(tooSlow, attempt.lowSpeedCheckEveryMs);
      response.on('data', (received: Buffer) => {
        if (settled) return;
        // An injected drop cuts the connection at exactly dropAtBytes: what follows never arrives.
        const room = attempt.dropAtBytes === undefined ? Infinity : attempt.dropAtBytes - fetched;
        const chunk = received.length > room ? received.subarray(0, room) : received;
        fetched += chunk.length;
        windowBytes += chunk.length;
        if (offset + chunk.length > attempt.size) {
          finish({
            ok: false,
            paused: false,
            code: 'SIZE_EXCEEDED',
            message: `more than the signed ${attempt.size} bytes`,
            fetched,
          });
          return;
        }
        const drop = attempt.dropAtBytes !== undefined && fetched >= attempt.dropAtBytes;
        writeSync(fd, chunk, 0, chunk.length, offset);
        offset += chunk.length;
        attempt.onProgress(offset);
        if (drop) {
          finish({ ok: false, paused: true, reason: 'connection dropped (injected)', fetched });
          return;
        }
        if (tooSlow()) return;
        if (attempt.slowBytesPerSecond !== undefined) {
          response.pause();
          void attempt
            .sleep((chunk.length * 1000) / attempt.slowBytesPerSecond)
            .then(() => response.resume());
        }
      });
      response.on('end', () => {
        if (offset === attempt.size) finish({ ok: true, fetched });
        else
          finish({
            ok: false,
            paused: true,
            reason: `connection ended at ${offset} of ${attempt.size}`,
            fetched,
          });
      });
      response.on('error', () => finish({ ok: false, paused: true, reason: 'connection lost', fetched }));
    });
    request.on('error', () => finish({ ok: false, paused: true, reason: 'connection failed', fetched }));
  });
}
