import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, UpdateAuthorityRow } from '../core/database';

/** The tenant's update authorities (public keys only). Every read names the tenant. */
@Injectable()
export class UpdateAuthoritiesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  list(tenantId: string): Promise<UpdateAuthorityRow[]> {
    return this.db
      .selectFrom('update_authorities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('registered_at')
      .orderBy('key_id')
      .execute();
  }

  /** The tenant's key, locked until the transaction ends. */
  lock(trx: Executor, tenantId: string, keyId: string): Promise<UpdateAuthorityRow | undefined> {
    return trx
      .selectFrom('update_authorities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('key_id', '=', keyId)
      .forUpdate()
      .executeTakeFirst();
  }

  /** Inserts the key unless a concurrent request did; answers the row either way. */
  async insert(
    trx: Executor,
    row: { tenantId: string; keyId: string; publicKeyPem: string; at: Date },
  ): Promise<{ row: UpdateAuthorityRow; created: boolean }> {
    const inserted = await trx
      .insertInto('update_authorities')
      .values({
        tenant_id: row.tenantId,
        key_id: row.keyId,
        public_key_pem: row.publicKeyPem,
        registered_at: row.at,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'key_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { row: inserted, created: true };
    return { row: (await this.lock(trx, row.tenantId, row.keyId))!, created: false };
  }

  revoke(trx: Executor, tenantId: string, keyId: string, at: Date): Promise<UpdateAuthorityRow> {
    return trx
      .updateTable('update_authorities')
      .set({ revoked_at: at })
      .where('tenant_id', '=', tenantId)
      .where('key_id', '=', keyId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
