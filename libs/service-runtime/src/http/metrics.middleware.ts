import type { NextFunction, Request, Response } from 'express';
import { countMetric, recordMetric } from '@meterkeep/observability';
import { ERROR_CODE_LOCAL } from '../errors/http-exception.filter';
import { listenerOf } from '../device-listener/listener-routing.middleware';
import { onInternalListener } from '../internal-listener/internal-listener';

/** The route label of a request no route answered (404s, refusals before routing): never its path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** What a route label is made of: the matched route (Express sets it) and the router's mount path. */
export interface RoutedRequest {
  route?: { path?: unknown } | undefined;
  baseUrl?: string | undefined;
}

/**
 * The route template a request matched, such as `/v1/devices/:deviceId`: the label of the request
 * metrics. A path is never a label (it may carry a device id, and any client can invent new ones).
 */
export function routeTemplate(request: RoutedRequest): string {
  const path = request.route?.path;
  if (typeof path !== 'string') return UNMATCHED_ROUTE;
  return `${request.baseUrl ?? ''}${path}` || '/';
}

/** Which listener a request came in on: the device (mutual TLS), internal or plain (operator) one. */
export function listenerLabel(request: Request): 'device' | 'operator' | 'internal' {
  return onInternalListener(request.socket) ? 'internal' : listenerOf(request);
}

/** Methods outside this set share one label: a client cannot mint label values. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Express middleware: per request, its duration by method, route template, status and listener
 * (http.server.request.duration, whose count is the request count), and each 429 or 503 with its code.
 */
export function measureRequests() {
  return (request: Request, response: Response, next: NextFunction): void => {
    const started = performance.now();
    // Read now: by 'finish' a connection the client dropped has no socket any more.
    const listener = listenerLabel(request);
    response.once('finish', () => {
      const route = routeTemplate(request);
      const status = response.statusCode;
      recordMetric('httpServerDuration', (performance.now() - started) / 1_000, {
        'http.request.method': METHODS.has(request.method) ? request.method : '_OTHER',
        'http.route': route,
        'http.response.status_code': status,
        'meterkeep.listener': listener,
      });
      if (status === 429 || status === 503) {
        const code: unknown = response.locals[ERROR_CODE_LOCAL];
        countMetric('httpOverloadAnswers', {
          'http.route': route,
          'http.response.status_code': status,
          'meterkeep.listener': listener,
          'meterkeep.code': typeof code === 'string' ? code : 'none',
        });
      }
    });
    next();
  };
}
