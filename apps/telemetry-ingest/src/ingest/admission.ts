import type { NextFunction, Request, Response } from 'express';
import { TELEMETRY_BATCH_POST, TELEMETRY_MAX_BODY_BYTES } from '@meterkeep/contracts';
import { type DomainError, httpStatusOf } from '@meterkeep/service-runtime';
import { IngestErrors } from './ingest.errors';

/**
 * Bounds what batches in progress may hold in memory. Past the bound, new batches get 503 with
 * Retry-After before their body is read: the meter keeps them and sends again later.
 */
export class AdmissionGate {
  private bytes = 0;
  private readings = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxReadings: number,
  ) {}

  tryBytes(n: number): boolean {
    if (this.bytes > 0 && this.bytes + n > this.maxBytes) return false;
    this.bytes += n;
    return true;
  }

  releaseBytes(n: number): void {
    this.bytes -= n;
  }

  tryReadings(n: number): boolean {
    if (this.readings > 0 && this.readings + n > this.maxReadings) return false;
    this.readings += n;
    return true;
  }

  releaseReadings(n: number): void {
    this.readings -= n;
  }
}

export const saturated = IngestErrors.saturated;

function send(response: Response, error: DomainError): void {
  if (error.retryAfterSeconds !== undefined)
    response.setHeader('Retry-After', String(error.retryAfterSeconds));
  // The body may not have been read: close the connection rather than read what nobody wants.
  if (error.kind === 'too-large' || error.kind === 'unavailable') response.setHeader('Connection', 'close');
  response.status(httpStatusOf(error.kind)).json({ code: error.code, message: error.message });
}

/**
 * Reads a batch body under the gate's byte budget, before Nest's own parser: refuses a wrong media
 * type (415), a body over TELEMETRY_MAX_BODY_BYTES (413) and malformed JSON (400) with the usual
 * `{code, message}` answer, and a body that would exceed the budget with 503.
 */
export function batchBodyReader(gate: AdmissionGate) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (request.method !== 'POST' || request.path !== TELEMETRY_BATCH_POST.path) return next();
    if (!request.is('application/json')) return send(response, IngestErrors.unsupportedMediaType());
    const declared = Number(request.headers['content-length'] ?? NaN);
    const tooLarge = IngestErrors.bodyTooLarge();
    if (declared > TELEMETRY_MAX_BODY_BYTES) return send(response, tooLarge);
    const reserved = Number.isFinite(declared) ? declared : TELEMETRY_MAX_BODY_BYTES;
    if (!gate.tryBytes(reserved)) return send(response, saturated());
    let released = false;
    const release = () => {
      if (!released) gate.releaseBytes(reserved);
      released = true;
    };
    response.once('close', release);

    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > TELEMETRY_MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.pause();
        send(response, tooLarge);
        return;
      }
      chunks.push(chunk);
    });
    request.once('error', () => release());
    request.once('end', () => {
      if (response.headersSent) return;
      try {
        request.body = JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
      } catch {
        return send(response, IngestErrors.malformedJson());
      }
      // Tells body-parser the body is read.
      (request as Request & { _body?: boolean })._body = true;
      next();
    });
  };
}
