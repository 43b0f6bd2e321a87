import { UseGuards, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { errorResponse } from '../openapi/api-schemas';
import { ApiKeyGuard } from './api-key.guard';

/** The OpenAPI security scheme of operator API keys (see setupOpenApiDocs' `apiKeys`). */
export const API_KEY_SCHEME = 'api-key';

/**
 * On a controller: every route needs an API key (401) of one of the route's @Roles (403). `more`
 * documents a service's own refusals (such as 503 when its keys cannot be checked).
 */
export function Authenticated(...more: ClassDecorator[]): ClassDecorator {
  return applyDecorators(
    UseGuards(ApiKeyGuard),
    ApiBearerAuth(API_KEY_SCHEME),
    ApiUnauthorizedResponse(errorResponse('No API key, a malformed, unknown or revoked one')),
    ApiForbiddenResponse(errorResponse("The API key's role may not do this")),
    ...more,
  );
}
