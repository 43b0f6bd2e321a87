import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { toManufacturerCaView } from './manufacturer-ca.view';
import { ManufacturerCaErrors } from './manufacturer-cas.errors';
import { ManufacturerCasRepository } from './manufacturer-cas.repository';
import type { ManufacturerCaView } from './manufacturer-cas.schemas';

@Injectable()
export class GetManufacturerCaUseCase {
  constructor(private readonly cas: ManufacturerCasRepository) {}

  async execute(caller: Caller, caId: string): Promise<ManufacturerCaView> {
    const ca = await this.cas.find(caller.tenantId, caId);
    if (!ca) throw ManufacturerCaErrors.notFound();
    return toManufacturerCaView(ca);
  }
}
