import type { NextFunction, Request, Response } from 'express';
import { onInternalListener } from '../internal-listener/internal-listener';

/** The listener a request came in on: the mutual-TLS one (devices) or the plain one (operators, probes). */
export type ListenerKind = 'device' | 'operator';

/** Whether a listener serves a path: each service keeps its own route table. */
export type ServesPath = (listener: ListenerKind, path: string) => boolean;

/** The device or operator listener of a request: encrypted sockets are the device listener's. */
export function listenerOf(request: Request): ListenerKind {
  return (request.socket as { encrypted?: boolean }).encrypted === true ? 'device' : 'operator';
}

/**
 * Express middleware for an application answering on both listeners: answers 404 for a path the
 * listener the request came in on does not serve, so no route leaks from one listener to the other.
 */
export function listenerRouting(servesPath: ServesPath) {
  return (request: Request, response: Response, next: NextFunction): void => {
    // The internal listener's routing is internalRouting's (startService applies it to every service).
    if (onInternalListener(request.socket) || servesPath(listenerOf(request), request.path)) return next();
    response.status(404).json({ code: 'NOT_FOUND', message: `Cannot ${request.method} ${request.path}` });
  };
}
