import { Injectable } from '@nestjs/common';
import { type FirmwareManifestView, OTA_DEVICE_STATUS_V2, OTA_FIRMWARE } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { CampaignStatusFeed } from '../campaigns/campaign-status-feed';
import { ExecutionsRepository } from '../executions/executions.repository';
import { deviceStatusEvent } from '../executions/status-events';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { firmwareEvent } from './accept-manifest.use-case';
import { manifestView } from './manifest.view';
import { ManifestErrors } from './manifests.errors';
import { ManifestsRepository } from './manifests.repository';

/**
 * Revokes an accepted manifest: the only change an accepted manifest admits (its fields, bytes and
 * sequence stay; a database trigger refuses anything else). Audited `ota.manifest-revoked` and
 * published as `ota.firmware.v1` `revoked`. Final and idempotent: a revoked manifest answers its first
 * revocation. Its sequence numbers stay taken. Executions of it that installed nothing yet are
 * CANCELLED in the same transaction (each published on `ota.device-status.v2`); installs finish.
 * Its RUNNING and PAUSED campaigns halt there too (reason MANIFEST_REVOKED, never resumed).
 */
@Injectable()
export class RevokeManifestUseCase {
  constructor(
    private readonly manifests: ManifestsRepository,
    private readonly executions: ExecutionsRepository,
    private readonly campaigns: CampaignStatusFeed,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  execute(caller: Caller, manifestId: string): Promise<FirmwareManifestView> {
    return this.transactions.run(async (trx) => {
      const current = await this.manifests.lock(trx, caller.tenantId, manifestId);
      if (!current) throw ManifestErrors.notFound();
      if (current.state === 'revoked') return manifestView(current);
      const now = new Date();
      const revoked = await this.manifests.revoke(trx, manifestId, now);
      const cancelled = await this.executions.cancelBeforeInstall(trx, caller.tenantId, manifestId, now);
      const halted = await this.campaigns.haltForRevokedManifest(trx, caller.tenantId, manifestId, now);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.manifest-revoked',
          actor: caller.actor,
          subject: manifestId,
          outcome: 'allowed',
          detail: {
            manifestDigest: revoked.digest,
            classId: revoked.class_id,
            executionsCancelled: cancelled.length,
            campaignsHalted: halted.length,
          },
        },
      ]);
      await this.outbox.enqueue(trx, OTA_FIRMWARE, [firmwareEvent(revoked, 'revoked', undefined, now)]);
      const manifest = { manifest_digest: revoked.digest, sequence_number: revoked.sequence_number };
      await this.outbox.enqueue(
        trx,
        OTA_DEVICE_STATUS_V2,
        cancelled.map((execution) => deviceStatusEvent(execution, manifest, now)),
      );
      return manifestView(revoked);
    });
  }
}
