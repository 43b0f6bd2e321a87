import type { Socket } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { OTA_DEVICE_MAX_BODY_BYTES } from '@meterkeep/contracts';
import {
  DeviceDirectory,
  DeviceIdentities,
  checkSender,
  isDeviceRefusal,
  tenantView,
} from '@meterkeep/device-directory';
import { DirectorySync } from '@meterkeep/device-directory/nest';
import { type DomainError, answerRefusal, listenerOf, onInternalListener } from '@meterkeep/service-runtime';
import { AUTHENTICATED_METER, type AuthenticatedMeter } from './authenticated-meter';
import { DeviceEdgeErrors } from './device-edge.errors';

/** Every device route's path starts so (OTA_DEVICE_ROUTES); nothing else is served to meters. */
export const DEVICE_PATH_PREFIX = '/ota/';

/** The clock the edge judges certificates by (tests move it past a certificate's notAfter). */
export const DEVICE_EDGE_CLOCK = Symbol('ota-distributor:device-edge-clock');
export type Clock = () => Date;

/** How long a device request's body may take to arrive. */
const BODY_TIMEOUT_MS = 10_000;

/** Whether the listener serves a path: the device API on the mutual-TLS one, the rest on the plain one. */
export function servesPath(listener: 'device' | 'operator', path: string): boolean {
  // /ota/* on the plain listener is answered by the edge (401), not hidden.
  return listener === 'operator' || path.startsWith(DEVICE_PATH_PREFIX);
}

const isJson = (type: string | undefined) =>
  type !== undefined && /^application\/json\s*(;|$)/i.test(type.trim());

const hasBody = (request: Request) =>
  request.headers['transfer-encoding'] !== undefined ||
  Number(request.headers['content-length'] ?? 0) > 0 ||
  !['GET', 'HEAD', 'OPTIONS', 'DELETE'].includes(request.method);

/**
 * The distributor's device edge, before any controller. On the plain listener a device path answers
 * 401 CLIENT_CERTIFICATE_REQUIRED (no meter is served there). On the mutual-TLS listener, in order:
 * the meter's certificate (once per connection: a tenant issuing CA's, unexpired), then per request
 * whether it is the current, unrevoked one of an ACTIVE device; the meter is then left on the
 * request for CurrentMeter(). Only then is a body read: JSON only (415), at most
 * OTA_DEVICE_MAX_BODY_BYTES declared or streamed (413), parsed here (400 MALFORMED_JSON), so Nest's
 * parser never reads a device's bytes.
 */
@Injectable()
export class DeviceEdge {
  constructor(
    private readonly identities: DeviceIdentities,
    private readonly directory: DeviceDirectory,
    private readonly sync: DirectorySync,
    @Inject(DEVICE_EDGE_CLOCK) private readonly clock: Clock,
  ) {}

  /** The meter holding this connection, or throws the refusal. */
  authenticate(socket: Socket, now = this.clock()): AuthenticatedMeter {
    const sender = this.identities.of(socket, now);
    if (isDeviceRefusal(sender)) throw DeviceEdgeErrors.refused(sender.code, sender.message);
    const view = tenantView(this.directory, sender.tenantId, this.sync.isCaughtUp);
    const verdict = checkSender(sender, view, now.getTime());
    if (!verdict.ok) throw DeviceEdgeErrors.refused(verdict.code, verdict.message);
    return {
      tenantId: sender.tenantId,
      deviceId: sender.endpointName,
      serial: sender.serial,
      publicKey: sender.publicKey,
    };
  }

  middleware() {
    return (request: Request, response: Response, next: NextFunction): void => {
      if (onInternalListener(request.socket)) return next();
      const devicePath = request.path.startsWith(DEVICE_PATH_PREFIX);
      if (listenerOf(request) !== 'device')
        return devicePath ? answerRefusal(response, DeviceEdgeErrors.clientCertificateRequired()) : next();
      let meter: AuthenticatedMeter;
      try {
        meter = this.authenticate(request.socket);
      } catch (error) {
        return answerRefusal(response, error as DomainError);
      }
      (request as unknown as Record<symbol, unknown>)[AUTHENTICATED_METER] = meter;
      readDeviceBody(request, response, next);
    };
  }
}

/** The exact bytes of a device request's body (a receipt is verified over what the meter sent). */
export const DEVICE_BODY_BYTES = Symbol('ota-distributor:device-body-bytes');
export type DeviceBodyRequest = Request & { [DEVICE_BODY_BYTES]?: Buffer };

/** Reads an authenticated device request's JSON body, if it has one (bounded, parsed, bytes kept). */
export function readDeviceBody(request: Request, response: Response, next: NextFunction): void {
  if (!hasBody(request)) return next();
  readJsonBody(request, response, next);
}

/** Reads a device's JSON body, bounded in bytes and time, and leaves it parsed on the request. */
function readJsonBody(request: Request, response: Response, next: NextFunction): void {
  const encoding = request.headers['content-encoding'];
  if (!isJson(request.headers['content-type']) || (encoding !== undefined && encoding !== 'identity'))
    return answerRefusal(response, DeviceEdgeErrors.unsupportedMediaType());
  if (Number(request.headers['content-length'] ?? 0) > OTA_DEVICE_MAX_BODY_BYTES)
    return answerRefusal(response, DeviceEdgeErrors.bodyTooLarge());

  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const stop = (error: DomainError) => {
    done = true;
    clearTimeout(timer);
    request.removeAllListeners('data');
    request.pause();
    answerRefusal(response, error);
  };
  const timer = setTimeout(() => stop(DeviceEdgeErrors.saturated()), BODY_TIMEOUT_MS);
  request.on('data', (chunk: Buffer) => {
    if (done) return;
    size += chunk.length;
    if (size > OTA_DEVICE_MAX_BODY_BYTES) return stop(DeviceEdgeErrors.bodyTooLarge());
    chunks.push(chunk);
  });
  request.once('error', (error) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    next(error);
  });
  request.once('end', () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    const bytes = Buffer.concat(chunks, size);
    (request as DeviceBodyRequest)[DEVICE_BODY_BYTES] = bytes;
    try {
      request.body = JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      return answerRefusal(response, DeviceEdgeErrors.malformedJson(), true);
    }
    // Tells body-parser the body is read.
    (request as Request & { _body?: boolean })._body = true;
    next();
  });
}
