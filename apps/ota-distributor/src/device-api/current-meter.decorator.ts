import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import { DomainError } from '@meterkeep/service-runtime';
import { AUTHENTICATED_METER, type AuthenticatedMeter } from './authenticated-meter';

/**
 * The meter the device edge authenticated for this request. A route reached without it (a request that
 * did not come through the mutual-TLS listener) is refused, never served anonymously.
 */
export const CurrentMeter = createParamDecorator(
  (_: unknown, context: ExecutionContext): AuthenticatedMeter => {
    const request = context.switchToHttp().getRequest<Record<symbol, unknown>>();
    const meter = request[AUTHENTICATED_METER] as AuthenticatedMeter | undefined;
    if (!meter)
      throw new DomainError(
        'unauthenticated',
        'CLIENT_CERTIFICATE_REQUIRED',
        'Present the operational certificate issued at bootstrap',
      );
    return meter;
  },
);
