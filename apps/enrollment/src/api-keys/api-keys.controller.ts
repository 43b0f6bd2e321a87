import {
  Authenticated,
  type Caller,
  CurrentCaller,
  Roles,
  ZodPipe,
  errorResponse,
  ref,
} from '@meterkeep/service-runtime';
import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { toApiKeyView } from './api-key.view';
import {
  type ApiKeyView,
  CreateApiKeyRequestSchema,
  type CreateApiKeyRequest,
  KeyIdParam,
} from './api-keys.schemas';
import { CreateApiKeyUseCase } from './create-api-key.use-case';
import { RevokeApiKeyUseCase } from './revoke-api-key.use-case';

@ApiTags('API keys')
@Authenticated()
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly createKey: CreateApiKeyUseCase,
    private readonly keys: ApiKeysRepository,
    private readonly revokeKey: RevokeApiKeyUseCase,
  ) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Create an API key for this tenant; the key is in this response only' })
  @ApiBody({ schema: ref('CreateApiKeyRequest') })
  @ApiCreatedResponse({ schema: ref('CreatedApiKey') })
  create(
    @CurrentCaller() caller: Caller,
    @Body(new ZodPipe(CreateApiKeyRequestSchema)) body: CreateApiKeyRequest,
  ) {
    return this.createKey.execute(caller, body);
  }

  @Get()
  @Roles('admin')
  @ApiOperation({ summary: "List this tenant's API keys (never their secrets)" })
  @ApiOkResponse({ schema: ref('ApiKeyList') })
  async list(@CurrentCaller() caller: Caller): Promise<{ items: ApiKeyView[] }> {
    // Revoked keys included; the view never holds a secret or its hash.
    return { items: (await this.keys.listByTenant(caller.tenantId)).map(toApiKeyView) };
  }

  @Delete(':keyId')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({ summary: 'Revoke an API key; it is refused from the next request on' })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiNotFoundResponse(errorResponse('No such key in this tenant'))
  async revoke(
    @CurrentCaller() caller: Caller,
    @Param('keyId', new ZodPipe(KeyIdParam, 'key id')) keyId: string,
  ) {
    await this.revokeKey.execute(caller, keyId);
  }
}
