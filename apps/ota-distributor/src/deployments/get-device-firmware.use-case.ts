import { Injectable } from '@nestjs/common';
import type { DeviceFirmwareView } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { DevicesRepository } from '../devices/devices.repository';
import { executionView } from './deployment.view';
import { DeploymentErrors } from './deployments.errors';
import { DeploymentsRepository } from './deployments.repository';

/**
 * What a device runs, as its last install receipt proved (never what it merely reported), and its
 * execution under way. A device unknown to the tenant (another tenant's included) is 404.
 */
@Injectable()
export class GetDeviceFirmwareUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly deployments: DeploymentsRepository,
  ) {}

  async execute(caller: Caller, deviceId: string): Promise<DeviceFirmwareView> {
    const device = await this.devices.find(caller.tenantId, deviceId);
    if (!device) throw DeploymentErrors.deviceNotFound();
    const [installed, active] = await Promise.all([
      this.devices.installed(caller.tenantId, deviceId),
      this.deployments.activeExecution(caller.tenantId, deviceId),
    ]);
    // The latest receipt's manifest (components of earlier manifests not in it stay as they were).
    const latest = installed.reduce<(typeof installed)[number] | undefined>(
      (best, row) => (!best || row.confirmed_at > best.confirmed_at ? row : best),
      undefined,
    );
    return {
      deviceId,
      installed: latest
        ? {
            manifestDigest: latest.manifest_digest,
            sequenceNumber: Number(latest.sequence_number),
            components: installed.map((row) => ({
              id: row.component,
              version: row.version,
              digest: row.digest,
            })),
            bootedSlot: latest.booted_slot,
            confirmedAt: latest.confirmed_at.toISOString(),
            receiptDigest: latest.receipt_digest,
          }
        : null,
      active: active ? { ...executionView(active), deploymentId: active.deployment_id } : null,
    };
  }
}
