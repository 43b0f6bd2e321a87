import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { toManufacturerCaView } from './manufacturer-ca.view';
import { ManufacturerCaErrors } from './manufacturer-cas.errors';
import { ManufacturerCasRepository } from './manufacturer-cas.repository';
import type { ManufacturerCaView } from './manufacturer-cas.schemas';

/** The reads of the tenant's manufacturer CAs, as operators see them. */
@Injectable()
export class ManufacturerCasQuery {
  constructor(private readonly cas: ManufacturerCasRepository) {}

  async list(caller: Caller): Promise<{ items: ManufacturerCaView[] }> {
    return { items: (await this.cas.list(caller.tenantId)).map(toManufacturerCaView) };
  }

  /** Another tenant's CA answers exactly as one that does not exist. */
  async get(caller: Caller, caId: string): Promise<ManufacturerCaView> {
    const ca = await this.cas.find(caller.tenantId, caId);
    if (!ca) throw ManufacturerCaErrors.notFound();
    return toManufacturerCaView(ca);
  }
}
