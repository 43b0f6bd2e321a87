import { Injectable } from '@nestjs/common';
import { ENROLLMENT_DEVICES } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { deviceStatusEvent } from './device-events';
import { toDeviceView } from './device.view';
import { DeviceErrors } from './devices.errors';
import type { DeviceView } from './devices.schemas';
import { DevicesRepository } from './devices.repository';

/**
 * Sets or clears a meter's gateway, the data concentrator allowed to post its readings (without one,
 * only the meter itself may): the device and its gateway must both be the caller's tenant's
 * (another tenant's answers as one that does not exist), a device is not its own gateway, and a
 * decommissioned device is no gateway. The new registry record (with gatewayId) and an audit record
 * commit together with the change; setting what is already set changes, publishes and audits nothing.
 */
@Injectable()
export class SetDeviceGatewayUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, endpoint: string, gatewayId: string | null): Promise<DeviceView> {
    if (gatewayId === endpoint) throw DeviceErrors.gatewayIsSelf();
    const now = new Date();
    const device = await this.transactions.run(async (trx) => {
      // Both rows locked, in endpoint order (as every multi-device lock is taken): a gateway cannot
      // leave the tenant or be decommissioned while it is being assigned.
      const locked = await this.devices.lockByEndpoints(
        trx,
        caller.tenantId,
        gatewayId === null ? [endpoint] : [endpoint, gatewayId],
      );
      const ours = (name: string) => locked.find((d) => d.endpoint_name === name);
      const current = ours(endpoint);
      if (!current) throw DeviceErrors.notFound();
      if (gatewayId !== null) {
        const gateway = ours(gatewayId);
        if (!gateway) throw DeviceErrors.gatewayNotFound();
        if (gateway.state === 'DECOMMISSIONED') throw DeviceErrors.gatewayDecommissioned();
      }
      if (current.gateway_id === gatewayId) return current;
      const updated = await this.devices.update(
        trx,
        caller.tenantId,
        endpoint,
        { gateway_id: gatewayId },
        now,
      );
      await this.outbox.enqueue(trx, ENROLLMENT_DEVICES, [deviceStatusEvent(updated, now)]);
      await this.audit.append(
        trx,
        caller.tenantId,
        [
          {
            action: gatewayId === null ? 'device.gateway-unassigned' : 'device.gateway-assigned',
            actor: caller.actor,
            subject: endpoint,
            outcome: 'allowed',
            detail: {
              ...(current.gateway_id !== null && { from: current.gateway_id }),
              ...(gatewayId !== null && { to: gatewayId }),
            },
          },
        ],
        now,
      );
      return updated;
    });
    return toDeviceView(device);
  }
}
