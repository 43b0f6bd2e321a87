import { Inject, Injectable } from '@nestjs/common';
import type { Updateable } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, ManufacturerCaRow, ManufacturerCasTable } from '../core/database';

export type NewManufacturerCa = Omit<ManufacturerCaRow, 'created_at' | 'verified_at' | 'disabled_at'>;

/** Manufacturer CAs per tenant; every read is scoped to the tenant. */
@Injectable()
export class ManufacturerCasRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  /** Inserts the CA unless the tenant already has one with its fingerprint; returns it when inserted. */
  insert(executor: Executor, ca: NewManufacturerCa): Promise<ManufacturerCaRow | undefined> {
    return executor
      .insertInto('manufacturer_cas')
      .values(ca)
      .onConflict((oc) => oc.columns(['tenant_id', 'fingerprint_sha256']).doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  lockByFingerprint(executor: Executor, tenantId: string, fingerprint: string) {
    return executor
      .selectFrom('manufacturer_cas')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('fingerprint_sha256', '=', fingerprint)
      .forUpdate()
      .executeTakeFirst();
  }

  lock(executor: Executor, tenantId: string, caId: string) {
    return executor
      .selectFrom('manufacturer_cas')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('ca_id', '=', caId)
      .forUpdate()
      .executeTakeFirst();
  }

  find(tenantId: string, caId: string) {
    return this.db
      .selectFrom('manufacturer_cas')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('ca_id', '=', caId)
      .executeTakeFirst();
  }

  list(tenantId: string) {
    return this.db
      .selectFrom('manufacturer_cas')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .orderBy('ca_id')
      .execute();
  }

  update(
    executor: Executor,
    caId: string,
    patch: Updateable<ManufacturerCasTable>,
  ): Promise<ManufacturerCaRow> {
    return executor
      .updateTable('manufacturer_cas')
      .set(patch)
      .where('ca_id', '=', caId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
