import { Controller, Header, Param, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DATA_KEY_GET, METER_DATA_KEYS_GET } from '@meterkeep/contracts';
import { ContractRoute, InternalCaller, InternalCallerGuard, ZodPipe } from '@meterkeep/service-runtime';
import { GetDataKeyUseCase } from './get-data-key.use-case';
import { GetMeterDataKeysUseCase } from './get-meter-data-keys.use-case';

const tenantPipe = new ZodPipe(METER_DATA_KEYS_GET.params.tenantId, 'tenant id');

/**
 * INTERNAL, service to service on the internal listener (mutual TLS): plain data keys, on the routes
 * METER_DATA_KEYS_GET (the ingest only) and DATA_KEY_GET (consumers granted the tenant) of
 * libs/contracts. Nothing these routes return is logged or cached.
 */
@ApiTags('Internal (service to service)')
@UseGuards(InternalCallerGuard)
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
    @InternalCaller() caller: string,
  ) {
    return this.dataKey.execute(caller, tenantId, keyId);
  }
}
