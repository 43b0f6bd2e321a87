import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@meterkeep/observability';

const tracer = trace.getTracer('meterkeep-http');

/**
 * One SERVER span per request, continuing the caller's trace and active while the request is handled,
 * and one access-log line per request carrying that trace id (health probes log at debug only).
 */
export function traceRequests(logger: Logger) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const started = performance.now();
    const parent = propagation.extract(context.active(), request.headers);
    const span = tracer.startSpan(
      `${request.method} ${request.path}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'url.path': request.path },
      },
      parent,
    );
    response.on('finish', () => {
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      const { traceId, spanId } = span.spanContext();
      const level = request.path.startsWith('/health/') ? 'debug' : 'info';
      logger[level](
        {
          traceId,
          spanId,
          method: request.method,
          path: request.path,
          status: response.statusCode,
          durationMs: Math.round(performance.now() - started),
        },
        'request',
      );
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
