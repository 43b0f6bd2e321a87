import { Controller, Header, Param, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DATA_KEY_GET, METER_DATA_KEYS_GET } from '@meterkeep/contracts';
import { ContractRoute, InternalTokenGuard, ZodPipe } from '@meterkeep/service-runtime';
import { GetDataKeyUseCase } from './get-data-key.use-case';
import { GetMeterDataKeysUseCase } from './get-meter-data-keys.use-case';

const tenantPipe = new ZodPipe(METER_DATA_KEYS_GET.params.tenantId, 'tenant id');

/**
 * INTERNAL, service to service (telemetry ingest, authorised decrypting consumers): plain data keys,
 * on the routes METER_DATA_KEYS_GET and DATA_KEY_GET of libs/contracts. Protected by the shared
 * x-internal-token, not the API-key guard; keep /internal/ off the ingress. Nothing these routes
 * return is logged or cached.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalTokenGuard)
@Controller()
export class DataKeysInternalController {
  constructor(
    private readonly meterDataKeys: GetMeterDataKeysUseCase,
    private readonly dataKey: GetDataKeyUseCase,
  ) {}

  @ContractRoute(METER_DATA_KEYS_GET)
  @Header('Cache-Control', 'no-store')
  meterKeys(
    @Param('tenantId', tenantPipe) tenantId: string,
    @Param('meterId', new ZodPipe(METER_DATA_KEYS_GET.params.meterId, 'meter id')) meterId: string,
  ) {
    return this.meterDataKeys.execute(tenantId, meterId);
  }

  @ContractRoute(DATA_KEY_GET)
  @Header('Cache-Control', 'no-store')
  key(
    @Param('tenantId', tenantPipe) tenantId: string,
    @Param('keyId', new ZodPipe(DATA_KEY_GET.params.keyId, 'key id')) keyId: string,
  ) {
    return this.dataKey.execute(tenantId, keyId);
  }
}
