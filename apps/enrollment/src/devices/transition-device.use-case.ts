import { Injectable } from '@nestjs/common';
import { DEVICE_LIFECYCLE, ENROLLMENT_DEVICES } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { DecommissionSaga } from '../decommissions/decommission-saga';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { deviceStatusEvent, lifecycleEvent } from './device-events';
import { nextState } from './device-state-machine';
import { toDeviceView } from './device.view';
import { DeviceErrors } from './devices.errors';
import type { DeviceView } from './devices.schemas';
import { DevicesRepository } from './devices.repository';

export type OperatorCommand = 'suspend' | 'resume' | 'decommission';

const EVENT_TYPE = { suspend: 'suspended', resume: 'resumed', decommission: 'decommissioned' } as const;

/**
 * An operator's lifecycle command on one of the tenant's devices, through the state machine: suspend
 * (ACTIVE → SUSPENDED: no bootstrap or renewal until resumed), resume (SUSPENDED → ACTIVE),
 * decommission (ACTIVE | SUSPENDED → DECOMMISSIONED, for good: its PSK, if any, is destroyed, and the
 * decommissioning saga starts: DecommissionSaga). The new state, its events (registry and lifecycle
 * topics, the saga's first request) and an audit record commit together.
 */
@Injectable()
export class TransitionDeviceUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly decommissionSaga: DecommissionSaga,
  ) {}

  async execute(caller: Caller, endpoint: string, command: OperatorCommand): Promise<DeviceView> {
    const now = new Date();
    const device = await this.transactions.run(async (trx) => {
      const current = await this.devices.lockForTenant(trx, caller.tenantId, endpoint);
      if (!current) throw DeviceErrors.notFound();
      const state = nextState(current.state, command);
      if (!state) throw DeviceErrors.invalidTransition(current.state, command);
      const updated = await this.devices.update(
        trx,
        caller.tenantId,
        endpoint,
        {
          state,
          // Decommissioning revokes the factory credential: the sealed PSK is destroyed with it.
          ...(command === 'decommission' && {
            psk_key_ciphertext: null,
            psk_key_iv: null,
            psk_key_tag: null,
            psk_key_digest: null,
          }),
        },
        now,
      );
      await this.outbox.enqueue(trx, ENROLLMENT_DEVICES, [deviceStatusEvent(updated, now)]);
      await this.outbox.enqueue(trx, DEVICE_LIFECYCLE, [
        lifecycleEvent(updated, EVENT_TYPE[command], caller.actor, now),
      ]);
      // The registry's step of the decommissioning saga; the other services are asked for theirs.
      const decommissionId =
        command === 'decommission'
          ? await this.decommissionSaga.start(trx, updated, caller.actor, now)
          : undefined;
      await this.audit.append(
        trx,
        caller.tenantId,
        [
          {
            action: `device.${EVENT_TYPE[command]}`,
            actor: caller.actor,
            subject: endpoint,
            outcome: 'allowed',
            detail: { from: current.state, to: state, ...(decommissionId && { decommissionId }) },
          },
        ],
        now,
      );
      return updated;
    });
    return toDeviceView(device);
  }
}
