import { z } from 'zod';
import {
  INTERNAL_TOKEN_HEADER,
  InternalTokenGuard,
  ZodPipe,
  errorResponse,
} from '@meterkeep/service-runtime';
import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';

const IntrospectionRequestSchema = z.strictObject({ apiKey: z.string().min(1).max(512) });
type IntrospectionRequest = z.infer<typeof IntrospectionRequestSchema>;

/**
 * INTERNAL, service to service: other services' operator APIs (privacy, OTA) resolve the API key
 * their caller presented, so keys, tenants and roles stay owned here. 401 when the key is unknown or
 * revoked; the key itself is never logged.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalTokenGuard)
@Controller('internal/v1/api-keys/introspect')
export class ApiKeyIntrospectionController {
  constructor(private readonly authenticate: AuthenticateCallerUseCase) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'INTERNAL: whose is this API key? (tenant, role) for other services’ operator APIs',
    description: `Needs the ${INTERNAL_TOKEN_HEADER} header (INTERNAL_API_TOKEN).`,
  })
  @ApiBody({
    schema: { type: 'object', required: ['apiKey'], properties: { apiKey: { type: 'string' } } },
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        tenantId: { type: 'string' },
        keyId: { type: 'string' },
        role: { type: 'string', enum: ['admin', 'operator', 'auditor'] },
        actor: { type: 'string' },
      },
    },
  })
  @ApiUnauthorizedResponse(
    errorResponse('UNAUTHENTICATED: unknown or revoked key, or no valid internal token'),
  )
  introspect(@Body(new ZodPipe(IntrospectionRequestSchema)) body: IntrospectionRequest) {
    return this.authenticate.execute(`Bearer ${body.apiKey}`);
  }
}
