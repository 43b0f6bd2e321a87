import { trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@meterkeep/observability';
import { UNMATCHED_ROUTE, routeTemplate } from './metrics.middleware';

/**
 * Names each request's SERVER span (the http instrumentation's, which continued the caller's trace) by
 * its route template, `POST /bs/v1/psk/bootstrap`, never its path (a path may hold a device id), and
 * writes one access-log line per request carrying its trace id (health probes log at debug only).
 */
export function traceRequests(logger: Logger) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const started = performance.now();
    const span = trace.getActiveSpan();
    // 'finish' comes before the instrumentation ends the span (on 'close'), and after routing.
    response.once('finish', () => {
      const route = routeTemplate(request);
      if (span && route !== UNMATCHED_ROUTE) {
        span.setAttribute('http.route', route);
        span.updateName(`${request.method} ${route}`);
      }
      const { traceId, spanId } = span?.spanContext() ?? {};
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
    next();
  };
}
