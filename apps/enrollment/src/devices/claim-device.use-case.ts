import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { Transactions } from '../outbox/transactions';
import { DeviceEnroller, type RefusalCode } from './device-enroller';
import { toDeviceView } from './device.view';
import { DeviceErrors } from './devices.errors';
import type { ClaimDeviceRequest, ClaimResult } from './devices.schemas';
import { JSON_FIELD_NAMES, validateEnrollmentFields } from './enrollment-row';

/**
 * Claims one meter for the caller's tenant, optionally until a deadline: if the meter has not
 * bootstrapped by then, the claim lapses (bootstrap treats it as not enrolled) and another tenant may
 * claim it. Names are per tenant: whether another tenant has a meter of this name is neither
 * consulted nor told; bootstrap gives the meter to the tenant whose CA (or PSK) it proves.
 */
@Injectable()
export class ClaimDeviceUseCase {
  constructor(
    private readonly enroller: DeviceEnroller,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  async execute(caller: Caller, endpointName: string, request: ClaimDeviceRequest): Promise<ClaimResult> {
    const { claimExpiresAt, ...fields } = request;
    const validation = validateEnrollmentFields({ ...fields, endpointName }, JSON_FIELD_NAMES);
    if (!validation.ok) throw DeviceErrors.invalidClaim(validation.reason);
    const now = new Date();
    const expiry = claimExpiresAt === undefined ? undefined : new Date(claimExpiresAt);
    if (expiry && expiry <= now) throw DeviceErrors.claimExpiryInPast();
    const row = { line: 0, ...validation.row };
    try {
      // The refusal is committed (with its audit record) before it is answered.
      const outcome = await this.transactions.run(async (trx) => {
        const [result] = await this.enroller.enroll(
          trx,
          {
            tenantId: caller.tenantId,
            actor: caller.actor,
            now,
            lifecycleType: 'claimed',
            claimExpiresAt: expiry,
          },
          [row],
        );
        if (result?.status === 'accepted') {
          await this.audit.append(trx, caller.tenantId, [
            {
              action: 'device.claimed',
              actor: caller.actor,
              subject: endpointName,
              outcome: 'allowed',
              ...(expiry && { detail: { claimExpiresAt: expiry.toISOString() } }),
            },
          ]);
        }
        return result!;
      });
      if (outcome.status !== 'rejected')
        return {
          outcome: outcome.status === 'accepted' ? 'claimed' : 'unchanged',
          device: toDeviceView(outcome.device),
        };
      throw refusal(outcome.code, outcome.reason);
    } finally {
      if (row.credential.kind === 'psk') row.credential.pskKey.fill(0);
    }
  }
}

function refusal(code: RefusalCode, reason: string) {
  switch (code) {
    case 'PSK_IDENTITY_IN_USE':
      return DeviceErrors.pskIdentityInUse();
    case 'ENROLLMENT_LOCKED':
    case 'DUPLICATE':
      return DeviceErrors.enrollmentLocked(reason);
  }
}
