import { ApiServiceUnavailableResponse } from '@nestjs/swagger';
import { Authenticated as ApiKeyAuthenticated, errorResponse } from '@meterkeep/service-runtime';

/**
 * On a controller: every route needs an API key (401) of one of the route's @Roles (403), as on every
 * operator API; here, keys are enrollment's, so 503 when it cannot check them.
 */
export function Authenticated(): ClassDecorator {
  return ApiKeyAuthenticated(
    ApiServiceUnavailableResponse(
      errorResponse('AUTH_UNAVAILABLE: enrollment cannot check API keys right now (Retry-After)'),
    ),
  );
}
