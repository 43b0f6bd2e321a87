import type { Socket } from 'node:net';
import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { TELEMETRY_BATCH_POST, TELEMETRY_MAX_BODY_BYTES } from '@meterkeep/contracts';
import { DomainError, answerRefusal, sourceAddress, sourceKey } from '@meterkeep/service-runtime';
import { DeviceDirectory, type DirectoryView, tenantView } from '@meterkeep/device-directory';
import { DirectorySync } from '@meterkeep/device-directory/nest';
import { type Sender, authorizeSender } from '../auth/authorize-sender';
import { SenderIdentity } from '../auth/sender-identity';
import { IngestErrors, verdictRefusal } from './ingest.errors';

export interface AdmissionLimits {
  /** Request bytes of batches in progress, in all. */
  maxBytes: number;
  /** Items of batches in progress, in all. */
  maxReadings: number;
  /** Request bytes in progress for one sender (its certificate's tenant and name). */
  maxBytesPerSender: number;
  /** Request bytes in progress from one source address (an IPv6 /64 counts as one). */
  maxBytesPerSource: number;
}

/** Amounts held per key; an empty key costs nothing. */
class KeyedAmounts {
  private readonly held = new Map<string, number>();

  fits(key: string, n: number, max: number): boolean {
    const held = this.held.get(key) ?? 0;
    return held === 0 || held + n <= max;
  }

  add(key: string, n: number): void {
    const left = (this.held.get(key) ?? 0) + n;
    if (left > 0) this.held.set(key, left);
    else this.held.delete(key);
  }
}

/**
 * Bounds what batches in progress may hold in memory, in all, per sender and per source. Only an
 * admitted sender (see SenderAdmission) reserves anything. Past a bound, new batches get 503 with
 * Retry-After before their body is read: the meter keeps them and sends again later. A single batch
 * always fits an empty budget.
 */
export class AdmissionGate {
  private bytes = 0;
  private readings = 0;
  private readonly bySender = new KeyedAmounts();
  private readonly bySource = new KeyedAmounts();

  constructor(private readonly limits: AdmissionLimits) {}

  /** Reserves `n` bytes for `sender` from `source`, or answers the refusal. */
  tryBytes(n: number, sender: string, source: string): DomainError | undefined {
    if (!this.bySender.fits(sender, n, this.limits.maxBytesPerSender)) return IngestErrors.meterBusy();
    if (!this.bySource.fits(source, n, this.limits.maxBytesPerSource)) return IngestErrors.saturated();
    if (this.bytes > 0 && this.bytes + n > this.limits.maxBytes) return IngestErrors.saturated();
    this.bytes += n;
    this.bySender.add(sender, n);
    this.bySource.add(source, n);
    return undefined;
  }

  releaseBytes(n: number, sender: string, source: string): void {
    this.bytes -= n;
    this.bySender.add(sender, -n);
    this.bySource.add(source, -n);
  }

  tryReadings(n: number): boolean {
    if (this.readings > 0 && this.readings + n > this.limits.maxReadings) return false;
    this.readings += n;
    return true;
  }

  releaseReadings(n: number): void {
    this.readings -= n;
  }
}

export const saturated = IngestErrors.saturated;

/** The directory as authorizeSender reads it, within one tenant. */
export function directoryView(
  directory: DeviceDirectory,
  sync: DirectorySync,
  tenantId: string,
): DirectoryView {
  return tenantView(directory, tenantId, sync.isCaughtUp);
}

/**
 * Who may reserve anything at all: the sender of a connection, its certificate present, chaining to
 * a tenant issuing CA, current, and its device ACTIVE. Decided before a byte of body is read.
 */
@Injectable()
export class SenderAdmission {
  constructor(
    private readonly identity: SenderIdentity,
    private readonly directory: DeviceDirectory,
    private readonly sync: DirectorySync,
  ) {}

  /** The connection's sender, or throws its refusal. */
  admit(socket: Socket, now = new Date()): Sender {
    const sender = this.identity.of(socket, now);
    const view = directoryView(this.directory, this.sync, sender.tenantId);
    const verdict = authorizeSender(sender, sender.endpointName, view, now.getTime());
    if (!verdict.ok) throw verdictRefusal(verdict);
    return sender;
  }
}

/**
 * Reads a batch body before Nest's own parser. In this order, each refused with the usual
 * `{code, message}` answer: a wrong media type (415) or a declared body over TELEMETRY_MAX_BODY_BYTES
 * (413); a sender not admitted (401/403/503, see SenderAdmission); a body that would exceed the
 * budgets (503); a body over the maximum (413), malformed JSON (400), or not wholly sent within
 * `bodyTimeoutMs` (503 INGEST_SATURATED).
 */
export function batchBodyReader(gate: AdmissionGate, admission: SenderAdmission, bodyTimeoutMs: number) {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (request.method !== 'POST' || request.path !== TELEMETRY_BATCH_POST.path) return next();
    if (!request.is('application/json')) return answerRefusal(response, IngestErrors.unsupportedMediaType());
    const declared = Number(request.headers['content-length'] ?? NaN);
    const tooLarge = IngestErrors.bodyTooLarge();
    if (declared > TELEMETRY_MAX_BODY_BYTES) return answerRefusal(response, tooLarge);
    let sender: Sender;
    try {
      sender = admission.admit(request.socket);
    } catch (error) {
      if (error instanceof DomainError) return answerRefusal(response, error);
      return next(error);
    }
    const senderKey = `${sender.tenantId}/${sender.endpointName}`;
    const source = sourceKey(sourceAddress(request.socket));
    const reserved = Number.isFinite(declared) ? declared : TELEMETRY_MAX_BODY_BYTES;
    const refusal = gate.tryBytes(reserved, senderKey, source);
    if (refusal) return answerRefusal(response, refusal);
    let released = false;
    const release = () => {
      if (!released) gate.releaseBytes(reserved, senderKey, source);
      released = true;
      clearTimeout(timer);
    };
    response.once('close', release);
    const stop = (error: DomainError) => {
      request.removeAllListeners('data');
      request.pause();
      answerRefusal(response, error);
      release();
    };
    const timer = setTimeout(() => stop(IngestErrors.bodyTimeout(bodyTimeoutMs / 1_000)), bodyTimeoutMs);

    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > TELEMETRY_MAX_BODY_BYTES) return stop(tooLarge);
      chunks.push(chunk);
    });
    request.once('error', () => release());
    request.once('end', () => {
      clearTimeout(timer);
      if (response.headersSent) return;
      try {
        request.body = JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
      } catch {
        return answerRefusal(response, IngestErrors.malformedJson(), true);
      }
      // Tells body-parser the body is read.
      (request as Request & { _body?: boolean })._body = true;
      next();
    });
  };
}
