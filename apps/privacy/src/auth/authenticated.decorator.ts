import { UseGuards, applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiServiceUnavailableResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { errorResponse } from '../openapi/schemas';
import { ApiKeyGuard } from './api-key.guard';

export const API_KEY_SCHEME = 'api-key';

/** On a controller: every route needs an API key (401) of one of the route's @Roles (403). */
export function Authenticated(): ClassDecorator {
  return applyDecorators(
    UseGuards(ApiKeyGuard),
    ApiBearerAuth(API_KEY_SCHEME),
    ApiUnauthorizedResponse(errorResponse('No API key, a malformed, unknown or revoked one')),
    ApiForbiddenResponse(errorResponse("The API key's role may not do this")),
    ApiServiceUnavailableResponse(
      errorResponse('AUTH_UNAVAILABLE: enrollment cannot check API keys right now (Retry-After)'),
    ),
  );
}
