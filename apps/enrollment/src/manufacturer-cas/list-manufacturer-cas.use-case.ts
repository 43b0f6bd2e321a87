import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { toManufacturerCaView } from './manufacturer-ca.view';
import { ManufacturerCasRepository } from './manufacturer-cas.repository';
import type { ManufacturerCaView } from './manufacturer-cas.schemas';

@Injectable()
export class ListManufacturerCasUseCase {
  constructor(private readonly cas: ManufacturerCasRepository) {}

  async execute(caller: Caller): Promise<{ items: ManufacturerCaView[] }> {
    return { items: (await this.cas.list(caller.tenantId)).map(toManufacturerCaView) };
  }
}
