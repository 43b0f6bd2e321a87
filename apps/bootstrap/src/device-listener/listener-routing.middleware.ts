import type { NextFunction, Request, Response } from 'express';
import { type Listener, servesPath } from './listener-routes';

/** Answers 404 for a path the listener the request came in on does not serve. */
export function listenerRouting() {
  return (request: Request, response: Response, next: NextFunction): void => {
    const listener: Listener =
      (request.socket as { encrypted?: boolean }).encrypted === true ? 'device' : 'operator';
    if (servesPath(listener, request.path)) return next();
    response.status(404).json({ code: 'NOT_FOUND', message: `Cannot ${request.method} ${request.path}` });
  };
}
