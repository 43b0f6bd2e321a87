import type { NextFunction, Request, Response } from 'express';
import { INTERNAL_PATH_PREFIX } from '@meterkeep/contracts';
import { onInternalListener } from './internal-listener';

/**
 * Internal routes answer on the internal listener only, and it answers nothing else: a 404 as if the
 * path did not exist, on every other listener and for every other path.
 */
export function internalRouting() {
  return (request: Request, response: Response, next: NextFunction): void => {
    if (onInternalListener(request.socket) === request.path.startsWith(INTERNAL_PATH_PREFIX)) return next();
    response.status(404).json({ code: 'NOT_FOUND', message: `Cannot ${request.method} ${request.path}` });
  };
}
