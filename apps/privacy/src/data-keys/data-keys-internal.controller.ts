import { Controller, Get, Header, Param, UseGuards } from '@nestjs/common';
import {
  ApiGoneResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  INTERNAL_TOKEN_HEADER,
  InternalTokenGuard,
  ZodPipe,
  errorResponse,
  ref,
} from '@meterkeep/service-runtime';
import { KeyIdParam, MeterIdParam, TenantIdParam } from './data-keys.schemas';
import { GetDataKeyUseCase } from './get-data-key.use-case';
import { GetMeterDataKeysUseCase } from './get-meter-data-keys.use-case';

const tenantPipe = new ZodPipe(TenantIdParam, 'tenant id');
const unauthenticated = errorResponse(`UNAUTHENTICATED: no valid ${INTERNAL_TOKEN_HEADER}`);

/**
 * INTERNAL, service to service (telemetry ingest, authorised decrypting consumers): plain data keys.
 * Protected by the shared x-internal-token, not the API-key guard; keep /internal/ off the ingress.
 * Nothing these routes return is logged or cached.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalTokenGuard)
@Controller('internal/v1/tenants/:tenantId')
export class DataKeysInternalController {
  constructor(
    private readonly meterDataKeys: GetMeterDataKeysUseCase,
    private readonly dataKey: GetDataKeyUseCase,
  ) {}

  @Get('meters/:meterId/data-keys')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: "INTERNAL: a meter's data keys, per occupancy period, and its own key (made on first request)",
    description: `Needs the ${INTERNAL_TOKEN_HEADER} header (INTERNAL_API_TOKEN). For each reading, use the occupancy whose [from, to) covers the reading time, else the meter key; refuse readings of a destroyed occupancy.`,
  })
  @ApiOkResponse({ schema: ref('MeterDataKeys') })
  @ApiUnauthorizedResponse(unauthenticated)
  meterKeys(
    @Param('tenantId', tenantPipe) tenantId: string,
    @Param('meterId', new ZodPipe(MeterIdParam, 'meter id')) meterId: string,
  ) {
    return this.meterDataKeys.execute(tenantId, meterId);
  }

  @Get('data-keys/:keyId')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'INTERNAL: one data key by id, for an authorised consumer decrypting readings',
    description: `Needs the ${INTERNAL_TOKEN_HEADER} header (INTERNAL_API_TOKEN).`,
  })
  @ApiOkResponse({ schema: ref('DataKey') })
  @ApiUnauthorizedResponse(unauthenticated)
  @ApiNotFoundResponse(errorResponse('DATA_KEY_NOT_FOUND'))
  @ApiGoneResponse(errorResponse('KEY_DESTROYED: the key was destroyed; what it encrypted is unreadable'))
  key(
    @Param('tenantId', tenantPipe) tenantId: string,
    @Param('keyId', new ZodPipe(KeyIdParam, 'key id')) keyId: string,
  ) {
    return this.dataKey.execute(tenantId, keyId);
  }
}
