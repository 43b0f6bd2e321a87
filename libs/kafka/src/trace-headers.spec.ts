import { ROOT_CONTEXT, TraceFlags, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHeaders, extractTraceContext, injectTraceContext } from './trace-headers';

const spanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};

describe('trace context in Kafka headers', () => {
  beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
  afterAll(() => propagation.disable());

  it('writes a W3C traceparent next to the existing headers', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, spanContext);
    const headers = injectTraceContext({ 'x-tenant': 't1' }, ctx);
    expect(headers).toEqual({
      'x-tenant': 't1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  it('reads the context back from the Buffers Kafka delivers', () => {
    const wire = { traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01') };
    const remote = trace.getSpanContext(extractTraceContext(decodeHeaders(wire)));
    expect(remote).toMatchObject({ ...spanContext, isRemote: true });
  });

  it('gives a root context when the record carries none', () => {
    expect(trace.getSpanContext(extractTraceContext({}))).toBeUndefined();
  });
});

describe('decodeHeaders', () => {
  it('turns Buffers into strings, takes the last of repeated keys and drops undefined', () => {
    expect(
      decodeHeaders({
        a: Buffer.from('one'),
        b: 'two',
        c: [Buffer.from('first'), Buffer.from('last')],
        d: undefined,
      }),
    ).toEqual({ a: 'one', b: 'two', c: 'last' });
    expect(decodeHeaders(undefined)).toEqual({});
  });
});
