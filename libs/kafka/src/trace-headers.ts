import {
  type Context,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapSetter,
  context,
  propagation,
} from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

/** Headers as strings: what producers set and what handlers see. */
export type EventHeaders = Record<string, string>;

export const headerSetter: TextMapSetter<EventHeaders> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

export const headerGetter: TextMapGetter<EventHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/**
 * Kafka hands header values over as Buffers, and a repeated key as an array; like Java's
 * `Headers.lastHeader`, the last value wins.
 */
export function decodeHeaders(headers: IHeaders | undefined): EventHeaders {
  const decoded: EventHeaders = {};
  for (const [key, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value === undefined) continue;
    decoded[key] = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  }
  return decoded;
}

/** Adds the trace context of `ctx` (W3C traceparent/tracestate with the usual propagator) to `headers`. */
export function injectTraceContext(headers: EventHeaders, ctx: Context = context.active()): EventHeaders {
  propagation.inject(ctx, headers, headerSetter);
  return headers;
}

/** The remote parent carried by a record; a root context when it carries none, never the consumer's own. */
export function extractTraceContext(headers: EventHeaders): Context {
  return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
}
