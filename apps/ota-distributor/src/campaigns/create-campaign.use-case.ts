import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { OTA_CAMPAIGNS_V2, type OtaCampaignDefinition, type OtaCampaignView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { ManifestsRepository } from '../manifests/manifests.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { campaignEvent } from './campaign-events';
import { campaignView } from './campaign.view';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository } from './campaigns.repository';
import { nextWindow, validateWindow } from './domain/maintenance-window';

/**
 * Creates a campaign as a DRAFT for an accepted manifest of the tenant: the body (defaults filled in)
 * and its phases are stored, `ota.campaign-created` is audited and `created` published, in one
 * transaction. Nothing is targeted yet: membership is planned when the campaign starts.
 */
@Injectable()
export class CreateCampaignUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly manifests: ManifestsRepository,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, body: OtaCampaignDefinition): Promise<OtaCampaignView> {
    body.maintenanceWindows.forEach((window, index) => {
      const valid = validateWindow(window);
      if (!valid.ok) throw CampaignErrors.window(index, valid);
      // A window that never opens (30 February) would leave directives without one: installs ungated.
      if (nextWindow([window], new Date()) === null)
        throw CampaignErrors.window(index, {
          ok: false,
          code: 'INVALID_CRON',
          field: 'cron',
          message: 'never opens within four years',
        });
    });
    const manifest = await this.manifests.find(caller.tenantId, body.manifestId);
    if (!manifest) throw CampaignErrors.manifestNotFound();
    if (manifest.state === 'revoked') throw CampaignErrors.manifestRevoked();
    if (body.revertOnHalt) {
      const revert = await this.manifests.find(caller.tenantId, body.revertOnHalt.manifestId);
      if (!revert || revert.state === 'revoked')
        throw CampaignErrors.revertNotHigher('no such accepted manifest');
      if (revert.class_id !== manifest.class_id) throw CampaignErrors.revertNotHigher('another device class');
      if (Number(revert.sequence_number) <= Number(manifest.sequence_number))
        throw CampaignErrors.revertNotHigher(
          'its sequence number must be higher than the campaign manifest’s',
        );
    }
    if (body.shadowRun) {
      // Early answer for a twin of another tenant or class, or none at all; start checks again.
      const known = await this.campaigns.twins(this.campaigns.reader, caller.tenantId, body.shadowRun.twins);
      const ofClass = new Set(known.filter((t) => t.class_id === manifest.class_id).map((t) => t.device_id));
      const unknown = body.shadowRun.twins.filter((id) => !ofClass.has(id));
      if (unknown.length > 0) throw CampaignErrors.shadowTwinUnknown(unknown);
    }
    const now = new Date();
    const campaignId = randomUUID();
    return this.transactions.run(async (trx) => {
      const row = await this.campaigns.insert(
        trx,
        {
          campaignId,
          tenantId: caller.tenantId,
          name: body.name,
          manifestId: manifest.manifest_id,
          manifestDigest: manifest.digest,
          classId: manifest.class_id,
          sequenceNumber: Number(manifest.sequence_number),
          body,
          createdBy: caller.actor,
          phases: body.phases.map((p) => ({
            name: p.name,
            size: p.size,
            successThresholdPercent: p.successThresholdPercent,
            minSoakMinutes: p.minSoakMinutes,
          })),
          ...(body.shadowRun && { shadowTwins: body.shadowRun.twins }),
        },
        now,
      );
      await this.outbox.enqueue(trx, OTA_CAMPAIGNS_V2, [
        campaignEvent(row, 'created', now, { actor: caller.actor }),
      ]);
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.campaign-created',
          actor: caller.actor,
          subject: campaignId,
          outcome: 'allowed',
          detail: {
            manifestDigest: manifest.digest,
            classId: manifest.class_id,
            sequenceNumber: Number(manifest.sequence_number),
            phases: body.phases.length,
            ...(body.shadowRun && { shadowTwins: body.shadowRun.twins.length }),
          },
        },
      ]);
      return campaignView(row, await this.campaigns.phases(campaignId, trx), new Map());
    });
  }
}
