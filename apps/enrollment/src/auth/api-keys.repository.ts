import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Role } from '@meterkeep/service-runtime';
import type { ApiKeyRow, Executor } from '../core/database';

export interface NewApiKey {
  keyId: string;
  tenantId: string;
  role: Role;
  name: string | null;
  secretSha256: Buffer;
  createdBy: string;
}

/** API keys: stored by id with the SHA-256 of their secret. */
@Injectable()
export class ApiKeysRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  find(keyId: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('key_id', '=', keyId).executeTakeFirst();
  }

  async insert(executor: Executor, key: NewApiKey): Promise<ApiKeyRow> {
    return executor
      .insertInto('api_keys')
      .values({
        key_id: key.keyId,
        tenant_id: key.tenantId,
        role: key.role,
        name: key.name,
        secret_sha256: key.secretSha256,
        created_by: key.createdBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  listByTenant(tenantId: string): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .orderBy('key_id')
      .execute();
  }

  /** Marks the tenant's key revoked; returns it, or undefined when the tenant has no such key. */
  revoke(executor: Executor, tenantId: string, keyId: string, at: Date): Promise<ApiKeyRow | undefined> {
    return executor
      .updateTable('api_keys')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
      .where('tenant_id', '=', tenantId)
      .where('key_id', '=', keyId)
      .returningAll()
      .executeTakeFirst();
  }
}
