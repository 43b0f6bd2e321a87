import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { OTA_DEVICE_STATUS_V2, type OtaCheckInAnswer, type OtaCheckInQuery } from '@meterkeep/contracts';
import { type Directive, signDirective } from '@meterkeep/firmware';
import { AuditLog } from '../audit/audit-log';
import { CampaignsRepository } from '../campaigns/campaigns.repository';
import { checkInRecordDue, checkInRecordSeconds } from '../campaigns/domain/advance';
import { type CheckInGate, checkInGate } from '../campaigns/domain/check-in-gate';
import { type WindowInstants, directiveWindow } from '../campaigns/domain/maintenance-window';
import type { Executor, StoredDirective } from '../core/database';
import { hardwareRevisionToRecord } from '../devices/device-projection';
import { DevicesRepository } from '../devices/devices.repository';
import { CheckInViews } from '../executions/check-in-views';
import { isActive } from '../executions/execution-states';
import {
  type CheckInView,
  type ExecutionWithDeployment,
  ExecutionsRepository,
} from '../executions/executions.repository';
import { deviceStatusEvent } from '../executions/status-events';
import { ManifestsRepository } from '../manifests/manifests.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import type { AuthenticatedMeter } from './authenticated-meter';
import { checkInEtag, etagMatches, jitteredPollSeconds, pollBeforeWindow } from './check-in-rules';
import { DeltaEligibility } from './delta-eligibility';
import { DEVICE_API_SETTINGS, type DeviceApiSettings } from './directive-key';

export type CheckInOutcome =
  | { status: 304; etag: string; pollAfterSeconds: number }
  | { status: 200; etag: string; pollAfterSeconds: number; answer: OtaCheckInAnswer };

const installWindow = z.object({
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.iso.datetime({ offset: true }),
});

/** The install window of the directive this meter holds (the one last served it), if any. */
function heldWindow(view: CheckInView): z.infer<typeof installWindow> | undefined {
  const execution = view.execution;
  if (!execution?.directive || view.deviceState !== 'ACTIVE' || !isActive(execution.state)) return undefined;
  const parsed = installWindow.safeParse(execution.directive.directive.window);
  return parsed.success ? parsed.data : undefined;
}

/**
 * A meter asks whether there is work for it (spec §6.2). Its check-in view decides, from memory unless
 * a commit changed it since (CheckInViews): when the ETag it sent still matches and no directive needs
 * issuing, 304 with no database read or write. Otherwise a directive is issued
 * (or re-issued when half its life is spent) for the meter's unfinished execution, unless the meter is
 * held (not ACTIVE in the registry): signed with the directive key, a new per-device counter and nonce,
 * the execution NOTIFIED on its first one (ota.device-status.v2), audited `ota.directive-issued`.
 * A deployment with a fallback directs the meter to the delta only when it runs every delta's
 * precursor, else to the full image (THREAT.UPD.WRONG_PRECURSOR); the choice is recorded on the
 * execution and made again only while the meter has not started downloading.
 * A campaign's execution gets its first directive only once admitted while its campaign runs; one its
 * halted or cancelling campaign cancels is cancelled here, and the answer carries no directive. A
 * campaign with maintenance windows puts the one open now, else the next, in the directive as UTC
 * instants: the meter downloads at once and installs only inside it (spec §6.5: windows gate install).
 */
@Injectable()
export class CheckInUseCase {
  constructor(
    private readonly executions: ExecutionsRepository,
    private readonly views: CheckInViews,
    private readonly devices: DevicesRepository,
    private readonly manifests: ManifestsRepository,
    private readonly deltas: DeltaEligibility,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
    private readonly campaigns: CampaignsRepository,
    @Inject(DEVICE_API_SETTINGS) private readonly settings: DeviceApiSettings,
  ) {}

  async execute(
    meter: AuthenticatedMeter,
    query: OtaCheckInQuery,
    ifNoneMatch: string | undefined,
  ): Promise<CheckInOutcome> {
    const now = new Date();
    const pollAfterSeconds = jitteredPollSeconds(this.settings.pollSeconds);
    // From memory while nothing changed it (CheckInViews); what changes it below is read again.
    let view = await this.views.get(meter.tenantId, meter.deviceId);
    // Its last check-in, coarsely (overdue meters leave phase denominators): not a write per 304.
    if (view.deviceState !== null && checkInRecordDue(view.lastCheckInAt, now, this.settings.pollSeconds)) {
      await this.devices.recordCheckIn(
        meter.tenantId,
        meter.deviceId,
        now,
        checkInRecordSeconds(this.settings.pollSeconds),
      );
      // The cached view is this replica's memory of it (the write changes no ETag, sends no notice).
      view.lastCheckInAt = now;
    }
    const revision = hardwareRevisionToRecord(view.hardwareRevision, query.hardwareRevision);
    if (view.deviceState !== null && revision !== undefined) {
      await this.devices.recordHardwareRevision(meter.tenantId, meter.deviceId, revision);
      // As for lastCheckInAt: this replica's memory, so the same report writes nothing again.
      view.hardwareRevision = revision;
    }
    if (this.gate(view) === 'cancel') {
      await this.cancelExecution(meter, view.execution!.execution_id, now);
      view = await this.executions.checkInView(meter.tenantId, meter.deviceId);
    }
    const needsDirective = this.needsDirective(view, now);
    let etag = checkInEtag(view.deviceState, view.execution, query);
    if (!needsDirective && etagMatches(ifNoneMatch, etag))
      return {
        status: 304,
        etag,
        pollAfterSeconds: pollBeforeWindow(pollAfterSeconds, heldWindow(view), now),
      };

    const installed = query.installed === 'none' ? null : query.installed;
    if (view.deviceState !== null && view.reportedManifestDigest !== installed) {
      await this.devices.recordReported(meter.tenantId, meter.deviceId, installed);
    }
    if (needsDirective) {
      await this.issueDirective(meter, view.execution!.execution_id, now);
      view = await this.executions.checkInView(meter.tenantId, meter.deviceId);
      etag = checkInEtag(view.deviceState, view.execution, query);
    }
    const execution = view.execution;
    const serving =
      execution && view.deviceState === 'ACTIVE' && isActive(execution.state) && execution.directive;
    const pollAfter = serving ? pollBeforeWindow(pollAfterSeconds, heldWindow(view), now) : pollAfterSeconds;
    const answer: OtaCheckInAnswer = {
      pollAfterSeconds: pollAfter,
      serverTime: now.toISOString(),
      ...(serving && { directive: execution.directive! }),
    };
    return { status: 200, etag, pollAfterSeconds: pollAfter, answer };
  }

  /** What the campaign of a campaign execution lets this check-in do (null: not a campaign's). */
  private gate(view: CheckInView): CheckInGate | null {
    const execution = view.execution;
    if (!execution || !view.campaign || !isActive(execution.state)) return null;
    return checkInGate(view.campaign, { state: execution.state, admitted: execution.admitted_at !== null });
  }

  /**
   * An unfinished execution of an ACTIVE meter without a directive, or with one past half its life;
   * a campaign's only once admitted while the campaign runs, never one its campaign cancels.
   */
  private needsDirective(view: CheckInView, now: Date): boolean {
    const execution = view.execution;
    if (!execution || view.deviceState !== 'ACTIVE' || !isActive(execution.state)) return false;
    const gate = this.gate(view);
    if (gate === 'hold' || gate === 'cancel') return false;
    if (!execution.directive || !execution.directive_expires_at) return true;
    const halfLife = (this.settings.directiveTtlSeconds * 1000) / 2;
    return execution.directive_expires_at.getTime() - now.getTime() < halfLife;
  }

  private async issueDirective(meter: AuthenticatedMeter, executionId: string, now: Date): Promise<void> {
    await this.transactions.run(async (trx) => {
      const execution = await this.executions.findOwn(meter.tenantId, meter.deviceId, executionId, trx, true);
      // Another check-in of this meter issued it first, or the execution ended meanwhile.
      if (!execution || !isActive(execution.state)) return;
      // The campaign read under a share lock: a halt or pause committing now is waited for and seen,
      // so no first directive follows a halt.
      let installWindow: WindowInstants | null = null;
      if (execution.campaign_id !== null) {
        const campaign = await this.campaigns.stateForShare(trx, execution.campaign_id);
        const gate =
          campaign &&
          checkInGate(
            { state: campaign.state, cancelMode: campaign.cancel_mode },
            { state: execution.state, admitted: execution.admitted_at !== null },
          );
        if (gate !== 'notify' && gate !== 'serve') return;
        installWindow = directiveWindow(campaign?.maintenance_windows ?? [], now);
      }
      const halfLife = (this.settings.directiveTtlSeconds * 1000) / 2;
      if (
        execution.directive &&
        execution.directive_expires_at &&
        execution.directive_expires_at.getTime() - now.getTime() >= halfLife
      )
        return;
      const deployment = await this.chooseManifest(trx, meter, execution);
      const counter = await this.executions.nextCounter(trx, meter.tenantId, meter.deviceId);
      const nonce = randomBytes(16).toString('base64url');
      const expiresAt = new Date(now.getTime() + this.settings.directiveTtlSeconds * 1000);
      const directive: Directive = {
        deviceId: meter.deviceId,
        executionId: execution.execution_id,
        campaignId: execution.deployment_id,
        manifestDigest: deployment.manifest_digest,
        counter,
        nonce,
        issuedAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
        actionType: deployment.action_type,
        ...(deployment.force_at && { forceAt: deployment.force_at.toISOString() }),
        ...(installWindow
          ? {
              window: {
                startsAt: installWindow.startsAt.toISOString(),
                endsAt: installWindow.endsAt.toISOString(),
              },
            }
          : deployment.window_starts_at &&
            deployment.window_ends_at && {
              window: {
                startsAt: deployment.window_starts_at.toISOString(),
                endsAt: deployment.window_ends_at.toISOString(),
              },
            }),
        pollAfterSeconds: this.settings.pollSeconds,
      };
      const signed = JSON.parse(
        signDirective(directive, this.settings.directiveKey).toString('utf8'),
      ) as StoredDirective;
      const first = execution.state === 'QUEUED';
      const updated = await this.executions.setDirective(
        trx,
        execution.execution_id,
        signed,
        { counter, nonce, expiresAt, state: first ? 'NOTIFIED' : execution.state },
        now,
      );
      await this.audit.append(trx, meter.tenantId, [
        {
          action: 'ota.directive-issued',
          actor: meter.deviceId,
          subject: execution.execution_id,
          outcome: 'allowed',
          detail: {
            deviceId: meter.deviceId,
            manifestDigest: deployment.manifest_digest,
            counter,
            expiresAt: directive.expiresAt,
          },
        },
      ]);
      if (first) {
        await this.outbox.enqueue(trx, OTA_DEVICE_STATUS_V2, [deviceStatusEvent(updated, deployment, now)]);
      }
    });
  }

  /**
   * A campaign execution its campaign cancels at this check-in (halted: not yet installing; cancelling:
   * as the mode says), judged again under the execution's lock and the campaign's share lock.
   */
  private async cancelExecution(meter: AuthenticatedMeter, executionId: string, now: Date): Promise<void> {
    await this.transactions.run(async (trx) => {
      const execution = await this.executions.findOwn(meter.tenantId, meter.deviceId, executionId, trx, true);
      if (!execution || execution.campaign_id === null || !isActive(execution.state)) return;
      const campaign = await this.campaigns.stateForShare(trx, execution.campaign_id);
      if (
        !campaign ||
        checkInGate(
          { state: campaign.state, cancelMode: campaign.cancel_mode },
          { state: execution.state, admitted: execution.admitted_at !== null },
        ) !== 'cancel'
      )
        return;
      const updated = await this.executions.changeState(
        trx,
        execution.execution_id,
        { state: 'CANCELLED' },
        now,
      );
      await this.outbox.enqueue(trx, OTA_DEVICE_STATUS_V2, [
        deviceStatusEvent(updated, execution.deployment, now),
      ]);
    });
  }

  /** The deployment as this execution's meter is to see it: the delta's manifest or its fallback's. */
  private async chooseManifest(
    trx: Executor,
    meter: AuthenticatedMeter,
    execution: ExecutionWithDeployment,
  ): Promise<ExecutionWithDeployment['deployment']> {
    const { deployment } = execution;
    if (!deployment.fallback_manifest_id) return deployment;
    const undecided = execution.state === 'QUEUED' || execution.state === 'NOTIFIED';
    if (execution.chosen_manifest_id && !undecided) return deployment;
    const delta = await this.manifests.find(meter.tenantId, deployment.deployment_manifest_id, trx);
    const full = await this.manifests.find(meter.tenantId, deployment.fallback_manifest_id, trx);
    if (!delta || !full) throw new Error(`The manifests of execution ${execution.execution_id} are gone`);
    const chosen = (await this.deltas.onAllPrecursors(meter, delta.components)) ? delta : full;
    if (chosen.manifest_id !== execution.chosen_manifest_id) {
      await this.executions.chooseManifest(trx, execution.execution_id, chosen.manifest_id);
    }
    return {
      ...deployment,
      manifest_id: chosen.manifest_id,
      manifest_digest: chosen.digest,
      sequence_number: chosen.sequence_number,
    };
  }
}
