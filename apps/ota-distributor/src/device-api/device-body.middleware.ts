import type { NextFunction, Request, Response } from 'express';
import {
  OTA_DEVICE_MAX_BODY_BYTES,
  OTA_DEVICE_REFUSALS,
  type OtaDeviceRefusalCode,
} from '@meterkeep/contracts';
import { OTA_DEVICE_ERRORS } from './ota-device.errors';

/** The exact bytes of a device request's body (a receipt is verified over what the meter sent). */
export const DEVICE_BODY_BYTES = Symbol('ota-distributor:device-body-bytes');
export type DeviceBodyRequest = Request & { [DEVICE_BODY_BYTES]?: Buffer };

/** POST routes of the device API that carry a JSON body. */
const DEVICE_BODY_PATH = /^\/ota\/v1\/executions\/[^/]+\/(status|receipt|download-url)\/?$/i;

const refuse = (response: Response, code: OtaDeviceRefusalCode, close = false) => {
  if (close) response.setHeader('connection', 'close');
  response
    .status(OTA_DEVICE_REFUSALS[code])
    .json({ code, message: OTA_DEVICE_ERRORS.definitions[code].message });
};

const isJson = (type: string | undefined) =>
  type !== undefined && /^application\/json\s*(;|$)/i.test(type.trim());

/**
 * Reads the body of a device POST before anything else touches it: application/json only, no content
 * encoding (415 UNSUPPORTED_MEDIA_TYPE), at most OTA_DEVICE_MAX_BODY_BYTES, declared or streamed
 * (413 BODY_TOO_LARGE at once, the rest unread), JSON that parses (400 MALFORMED_JSON). The parsed
 * value becomes the body, the bytes stay beside it. Registered ahead of Nest's own body parser.
 */
export function deviceBodyReader() {
  return (request: DeviceBodyRequest, response: Response, next: NextFunction): void => {
    if (request.method !== 'POST' || !DEVICE_BODY_PATH.test(request.path)) return next();
    const encoding = request.headers['content-encoding'];
    if (!isJson(request.headers['content-type']) || (encoding !== undefined && encoding !== 'identity')) {
      return refuse(response, 'UNSUPPORTED_MEDIA_TYPE', true);
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > OTA_DEVICE_MAX_BODY_BYTES) return refuse(response, 'BODY_TOO_LARGE', true);

    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      length += chunk.length;
      if (length > OTA_DEVICE_MAX_BODY_BYTES) {
        done = true;
        request.pause();
        refuse(response, 'BODY_TOO_LARGE', true);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (done) return;
      done = true;
      const bytes = Buffer.concat(chunks, length);
      let parsed: unknown;
      try {
        parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      } catch {
        return refuse(response, 'MALFORMED_JSON');
      }
      request[DEVICE_BODY_BYTES] = bytes;
      (request as Request & { _body?: boolean })._body = true;
      request.body = parsed;
      next();
    });
    request.on('error', (error) => {
      if (done) return;
      done = true;
      next(error);
    });
  };
}
