import { ApiServiceUnavailableResponse } from '@nestjs/swagger';
import { Authenticated } from '../auth/authenticated.decorator';
import { errorResponse } from '../openapi/api-schemas';

/**
 * On a controller: every route needs an API key (401) of one of the route's @Roles (403), as on every
 * operator API; here, keys are enrollment's, so 503 when it cannot check them.
 */
export function AuthenticatedByEnrollment(): ClassDecorator {
  return Authenticated(
    ApiServiceUnavailableResponse(
      errorResponse('AUTH_UNAVAILABLE: enrollment cannot check API keys right now (Retry-After)'),
    ),
  );
}
