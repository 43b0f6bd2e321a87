import { Inject, Injectable } from '@nestjs/common';
import type { Insertable } from 'kysely';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, TenantCaRow, TenantCasTable } from '../core/database';

/** The tenants' operational CAs, their sealed keys and their current CRL. */
@Injectable()
export class TenantCasRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  find(tenantId: string): Promise<TenantCaRow | undefined> {
    return this.db.selectFrom('tenant_cas').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  }

  findByIssuingKeyId(keyId: string): Promise<TenantCaRow | undefined> {
    return this.db
      .selectFrom('tenant_cas')
      .selectAll()
      .where('issuing_key_id', '=', keyId)
      .executeTakeFirst();
  }

  /** Every tenant's CA certificates (public material only), oldest first. */
  allCertificates() {
    return this.db
      .selectFrom('tenant_cas')
      .select(['tenant_id', 'issuing_certificate_pem', 'root_certificate_pem', 'created_at'])
      .orderBy('created_at')
      .orderBy('tenant_id')
      .execute();
  }

  /** Inserts unless the tenant has its CAs already (another replica won the race); false then. */
  async insertIfAbsent(row: Insertable<TenantCasTable>): Promise<boolean> {
    const inserted = await this.db
      .insertInto('tenant_cas')
      .values(row)
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .returning('tenant_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  /** The row, locked for the rest of the transaction: CRL numbers are issued one at a time. */
  lock(executor: Executor, tenantId: string): Promise<TenantCaRow | undefined> {
    return executor
      .selectFrom('tenant_cas')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .forUpdate()
      .executeTakeFirst();
  }

  async saveCrl(
    executor: Executor,
    tenantId: string,
    crl: { number: bigint; der: Buffer; nextUpdate: Date },
  ): Promise<void> {
    await executor
      .updateTable('tenant_cas')
      .set({ crl_number: crl.number.toString(), crl_der: crl.der, crl_next_update: crl.nextUpdate })
      .where('tenant_id', '=', tenantId)
      .execute();
  }

  findCrl(tenantId: string) {
    return this.db
      .selectFrom('tenant_cas')
      .select(['crl_der', 'crl_next_update'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
  }
}
