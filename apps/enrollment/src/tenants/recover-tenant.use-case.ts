import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log';
import { generateApiKey, keyActor } from '../auth/api-key';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import { Transactions } from '../outbox/transactions';
import { TENANT_ID, TenantErrors } from './tenants.errors';
import { TenantsRepository } from './tenants.repository';

/** The audit actor of a recovery: who ran the command, as the machine knows them. */
export const BREAK_GLASS_ACTOR_PREFIX = 'break-glass:';
export const RECOVERY_REASON_MAX = 500;

export interface RecoverTenantCommand {
  tenantId: string;
  /** Why the door was broken: kept on the tenant's audit chain. */
  reason: string;
  /** Who runs it: `break-glass:<os user>`. */
  actor: string;
}

export interface RecoveredTenant {
  tenantId: string;
  adminKeyId: string;
  /** The new admin key: shown once, never stored, never audited. */
  adminApiKey: string;
}

/**
 * Break-glass: one new admin key for an existing tenant whose admin keys are all revoked or lost, in
 * one transaction, audited on the tenant's chain as `tenant.recovered` (actor, reason) followed by the
 * `apikey.created` record a normal key creation writes. Key creation publishes nothing else.
 */
@Injectable()
export class RecoverTenantUseCase {
  constructor(
    private readonly tenants: TenantsRepository,
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute({ tenantId, reason, actor }: RecoverTenantCommand): Promise<RecoveredTenant> {
    if (!TENANT_ID.test(tenantId)) throw TenantErrors.invalidId();
    const why = reason.trim();
    if (why.length < 1 || why.length > RECOVERY_REASON_MAX) throw TenantErrors.invalidReason();
    const key = generateApiKey();
    await this.transactions.run(async (trx) => {
      // Locked, so a recovery cannot race the tenant's removal (none exists today) or another recovery's chain.
      if (!(await this.tenants.lock(trx, tenantId))) throw TenantErrors.notFound(tenantId);
      await this.keys.insert(trx, {
        keyId: key.keyId,
        tenantId,
        role: 'admin',
        name: 'break-glass recovery key',
        secretSha256: key.secretSha256,
        createdBy: actor,
      });
      await this.audit.append(trx, tenantId, [
        {
          action: 'tenant.recovered',
          actor,
          subject: tenantId,
          outcome: 'allowed',
          detail: { reason: why, keyId: keyActor(key.keyId) },
        },
        {
          action: 'apikey.created',
          actor,
          subject: keyActor(key.keyId),
          outcome: 'allowed',
          detail: { role: 'admin' },
        },
      ]);
    });
    return { tenantId, adminKeyId: key.keyId, adminApiKey: key.token };
  }
}
