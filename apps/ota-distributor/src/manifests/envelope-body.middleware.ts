import type { NextFunction, Request, Response } from 'express';
import { OTA_MANIFEST_ACCEPT } from '@meterkeep/contracts';
import { MAX_ENVELOPE_BYTES } from '@meterkeep/firmware';

/** What the body reader leaves on a request it read: the exact bytes, never a parsed object. */
export const ENVELOPE_BYTES = Symbol('ota-distributor:envelope-bytes');
export type EnvelopeRequest = Request & { [ENVELOPE_BYTES]?: Buffer };

const refuse = (response: Response, status: number, code: string, message: string) => {
  // The rest of an oversized body is not read: the connection closes after the answer.
  response.setHeader('connection', 'close');
  response.status(status).json({ code, message });
};

const isJson = (type: string | undefined) =>
  type !== undefined && /^application\/json\s*(;|$)/i.test(type.trim());

/**
 * Reads the body of `POST /v1/firmware/manifests` as bytes, bounded by libs/firmware's envelope bound
 * before anything is parsed: a declared or streamed length above it answers 413 at once, an encoded
 * body or another media type 415. It must run before the JSON body parser (registered on the app
 * before Nest's own): the signature is over bytes the parser would not give back. The route refuses
 * a request without these bytes, so a path spelling this reader does not match is refused, not parsed.
 */
export function envelopeBodyReader() {
  const path = OTA_MANIFEST_ACCEPT.path.toLowerCase();
  return (request: EnvelopeRequest, response: Response, next: NextFunction): void => {
    if (request.method !== 'POST' || request.path.toLowerCase().replace(/\/+$/, '') !== path) return next();
    const encoding = request.headers['content-encoding'];
    if (!isJson(request.headers['content-type']) || (encoding !== undefined && encoding !== 'identity')) {
      return refuse(
        response,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Send the signed envelope bytes as application/json, without content encoding',
      );
    }
    const tooLarge = () =>
      refuse(
        response,
        413,
        'MANIFEST_TOO_LARGE',
        `A manifest envelope has at most ${MAX_ENVELOPE_BYTES} bytes`,
      );
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > MAX_ENVELOPE_BYTES) return tooLarge();

    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      length += chunk.length;
      if (length > MAX_ENVELOPE_BYTES) {
        done = true;
        request.pause();
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (done) return;
      done = true;
      request[ENVELOPE_BYTES] = Buffer.concat(chunks, length);
      // Marks the body as read, so no later body parser touches the stream.
      (request as Request & { _body?: boolean })._body = true;
      request.body = undefined;
      next();
    });
    request.on('error', (error) => {
      if (done) return;
      done = true;
      next(error);
    });
  };
}
