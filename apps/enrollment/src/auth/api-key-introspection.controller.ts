import { ContractRoute, InternalCallerGuard, ZodPipe } from '@meterkeep/service-runtime';
import { API_KEYS_INTROSPECT, type ApiKeyIntrospectionRequest } from '@meterkeep/contracts';
import { Body, Controller, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuthenticateCallerUseCase } from './authenticate-caller.use-case';

/**
 * INTERNAL, service to service: other services' operator APIs (privacy, OTA) resolve the API key
 * their caller presented, so keys, tenants and roles stay owned here (API_KEYS_INTROSPECT of
 * libs/contracts). 401 when the key is unknown or revoked; the key itself is never logged.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalCallerGuard)
@Controller()
export class ApiKeyIntrospectionController {
  constructor(private readonly authenticate: AuthenticateCallerUseCase) {}

  @ContractRoute(API_KEYS_INTROSPECT)
  introspect(@Body(new ZodPipe(API_KEYS_INTROSPECT.request)) body: ApiKeyIntrospectionRequest) {
    return this.authenticate.execute(`Bearer ${body.apiKey}`);
  }
}
