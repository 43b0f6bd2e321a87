import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  type FirmwareDeploymentCreate,
  type FirmwareDeploymentView,
  OTA_DEVICE_STATUS_V2,
} from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import type { z } from 'zod';
import type { firmwareDeploymentCreate } from '@meterkeep/contracts';
import { AuditLog } from '../audit/audit-log';
import type { ManifestRow } from '../core/database';
import { installedDigestOf, isDelta } from '../device-api/delta-eligibility';
import { DevicesRepository } from '../devices/devices.repository';
import { ExecutionsRepository } from '../executions/executions.repository';
import { deviceStatusEvent } from '../executions/status-events';
import { ManifestsRepository } from '../manifests/manifests.repository';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { deploymentView } from './deployment.view';
import { DeploymentErrors } from './deployments.errors';
import { DeploymentsRepository } from './deployments.repository';

export type DeploymentRequest = z.output<typeof firmwareDeploymentCreate>;

/**
 * Deploys an accepted manifest of the tenant to an explicit list of its devices: every device must be
 * known to this tenant (the registry's projection), ACTIVE, of the manifest's class and without an
 * unfinished execution, else the whole request is refused naming each device and why (another
 * tenant's device reads as unknown). One QUEUED execution per device, the deployment, its
 * ota.device-status.v2 events and `ota.deployment-created` commit together; a partial unique index
 * keeps one unfinished execution per device against concurrent requests. A fallback manifest must be
 * the full-image form of the delta manifest's release (FALLBACK_MISMATCH otherwise): check-in then
 * directs each meter to one of the two (THREAT.UPD.WRONG_PRECURSOR).
 */
@Injectable()
export class CreateDeploymentUseCase {
  constructor(
    private readonly deployments: DeploymentsRepository,
    private readonly executions: ExecutionsRepository,
    private readonly devices: DevicesRepository,
    private readonly manifests: ManifestsRepository,
    private readonly audit: AuditLog,
    private readonly outbox: OutboxRepository,
    private readonly transactions: Transactions,
  ) {}

  async execute(
    caller: Caller,
    request: DeploymentRequest | FirmwareDeploymentCreate,
  ): Promise<FirmwareDeploymentView> {
    const manifest = await this.manifests.find(caller.tenantId, request.manifestId);
    if (!manifest) throw DeploymentErrors.manifestNotFound();
    if (manifest.state === 'revoked') throw DeploymentErrors.manifestRevoked();
    const fallback = request.fallbackManifestId
      ? await this.manifests.find(caller.tenantId, request.fallbackManifestId)
      : undefined;
    if (request.fallbackManifestId) {
      if (!fallback) throw DeploymentErrors.manifestNotFound();
      if (fallback.state === 'revoked') throw DeploymentErrors.manifestRevoked();
      checkFallback(manifest, fallback);
    }
    const now = new Date();
    const deploymentId = randomUUID();
    const { row, count } = await this.transactions.run(async (trx) => {
      const known = new Map(
        (await this.devices.findMany(trx, caller.tenantId, request.deviceIds)).map((d) => [d.device_id, d]),
      );
      const busy = await this.executions.activeDevices(trx, caller.tenantId, request.deviceIds);
      const reasons = {
        unknown: [] as string[],
        notActive: [] as string[],
        otherClass: [] as string[],
        busy: [] as string[],
      };
      for (const deviceId of request.deviceIds) {
        const device = known.get(deviceId);
        if (!device) reasons.unknown.push(deviceId);
        else if (device.state !== 'ACTIVE') reasons.notActive.push(deviceId);
        else if (device.class_id !== manifest.class_id) reasons.otherClass.push(deviceId);
        else if (busy.has(deviceId)) reasons.busy.push(deviceId);
      }
      if (Object.values(reasons).some((ids) => ids.length > 0))
        throw DeploymentErrors.devicesNotEligible(reasons);

      const deployment = await this.deployments.insert(
        trx,
        {
          deploymentId,
          tenantId: caller.tenantId,
          manifestId: manifest.manifest_id,
          manifestDigest: manifest.digest,
          fallbackManifestId: fallback?.manifest_id ?? null,
          classId: manifest.class_id,
          sequenceNumber: Number(manifest.sequence_number),
          actionType: request.actionType ?? 'soft',
          forceAt: request.forceAt ?? null,
          window: request.window ?? null,
          createdBy: caller.actor,
        },
        now,
      );
      const executions = await this.executions.insertQueued(
        trx,
        request.deviceIds.map((deviceId) => ({
          executionId: randomUUID(),
          tenantId: caller.tenantId,
          deploymentId,
          deviceId,
        })),
        now,
      );
      await this.outbox.enqueue(
        trx,
        OTA_DEVICE_STATUS_V2,
        executions.map((execution) => deviceStatusEvent(execution, deployment, now)),
      );
      await this.audit.append(trx, caller.tenantId, [
        {
          action: 'ota.deployment-created',
          actor: caller.actor,
          subject: deploymentId,
          outcome: 'allowed',
          detail: {
            manifestDigest: manifest.digest,
            ...(fallback && { fallbackManifestDigest: fallback.digest }),
            classId: manifest.class_id,
            sequenceNumber: Number(manifest.sequence_number),
            devices: executions.length,
            actionType: deployment.action_type,
          },
        },
      ]);
      return { row: deployment, count: executions.length };
    });
    return deploymentView(row, { QUEUED: count });
  }
}

/** The fallback installs exactly what the deltas result in: same class, same components, no delta. */
function checkFallback(delta: ManifestRow, full: ManifestRow): void {
  if (full.class_id !== delta.class_id) throw DeploymentErrors.fallbackMismatch('another device class');
  if (!delta.components.some(isDelta)) throw DeploymentErrors.fallbackMismatch('the manifest has no delta');
  if (full.components.some(isDelta)) throw DeploymentErrors.fallbackMismatch('the fallback carries a delta');
  if (full.components.length !== delta.components.length)
    throw DeploymentErrors.fallbackMismatch('other components');
  for (const component of delta.components) {
    const same = full.components.find((c) => c.id === component.id);
    if (!same) throw DeploymentErrors.fallbackMismatch(`no component ${component.id}`);
    if (same.digest.value !== installedDigestOf(component))
      throw DeploymentErrors.fallbackMismatch(`component ${component.id} is not the delta's result`);
  }
}
