import { Injectable } from '@nestjs/common';
import {
  ENROLLMENT_DEVICES,
  type FactoryCredentialRotation,
  type FactoryCredentialView,
} from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import type { DeviceRow, DevicesTable, Executor } from '../core/database';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { DeviceEnroller } from './device-enroller';
import { deviceStatusEvent } from './device-events';
import { credentialOf } from './device.view';
import { DeviceErrors } from './devices.errors';
import { DevicesRepository } from './devices.repository';
import type { EnrollmentCredential } from './enrollment-row';
import type { Updateable } from 'kysely';

type Patch = Omit<Updateable<DevicesTable>, 'version' | 'updated_at'>;

/**
 * An operator's control of a meter's factory credential (the certificate fingerprint or PSK it
 * bootstraps with). Revoke: bootstrap refuses it from then on; a PSK is destroyed, its digest kept so
 * the same key cannot be enrolled or rotated back in. Rotate: a new credential of the meter's kind
 * replaces the old (revoked or not), which bootstrap then refuses. Another tenant's meter answers as
 * one that does not exist; a decommissioned meter keeps no credential. The registry record that
 * carries the change to bootstrap and the audit record commit with it.
 */
@Injectable()
export class FactoryCredentialUseCase {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly enroller: DeviceEnroller,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
  ) {}

  revoke(caller: Caller, endpoint: string): Promise<FactoryCredentialView> {
    return this.change(caller, endpoint, 'revoked', (current, now) =>
      current.credential_revoked_at !== null
        ? undefined
        : {
            credential_revoked_at: now,
            // The key is destroyed; its digest stays to recognise it if it is offered again.
            ...(current.credential_kind === 'psk' && {
              psk_key_ciphertext: null,
              psk_key_iv: null,
              psk_key_tag: null,
            }),
          },
    );
  }

  async rotate(
    caller: Caller,
    endpoint: string,
    request: FactoryCredentialRotation,
  ): Promise<FactoryCredentialView> {
    let credential: EnrollmentCredential | undefined;
    try {
      return await this.change(caller, endpoint, 'rotated', (current) => {
        credential = newCredential(current, request);
        if (this.enroller.holdsCredential(current, credential)) throw DeviceErrors.credentialUnchanged();
        return this.enroller.credentialColumns({ credential, endpointName: endpoint });
      });
    } finally {
      if (credential?.kind === 'psk') credential.pskKey.fill(0);
    }
  }

  private async change(
    caller: Caller,
    endpoint: string,
    action: 'revoked' | 'rotated',
    patchFor: (current: DeviceRow, now: Date) => Patch | undefined,
  ): Promise<FactoryCredentialView> {
    const now = new Date();
    const device = await this.transactions.run(async (trx: Executor) => {
      const current = await this.devices.lockForTenant(trx, caller.tenantId, endpoint);
      if (!current) throw DeviceErrors.notFound();
      if (current.state === 'DECOMMISSIONED') throw DeviceErrors.decommissioned();
      const patch = patchFor(current, now);
      if (!patch) return current;
      const updated = await this.devices.update(trx, caller.tenantId, endpoint, patch, now);
      await this.outbox.enqueue(trx, ENROLLMENT_DEVICES, [deviceStatusEvent(updated, now)]);
      await this.audit.append(
        trx,
        caller.tenantId,
        [
          {
            action: `device.factory-credential-${action}`,
            actor: caller.actor,
            subject: endpoint,
            outcome: 'allowed',
            // References only: a fingerprint is public, a PSK is named by its identity.
            detail: { kind: current.credential_kind, ...credentialChange(current, updated) },
          },
        ],
        now,
      );
      return updated;
    });
    return toFactoryCredentialView(device);
  }
}

/** The rotation's credential, of the meter's own kind: a PSK meter keeps its identity. */
function newCredential(current: DeviceRow, request: FactoryCredentialRotation): EnrollmentCredential {
  if ('certificateSha256' in request) {
    if (current.credential_kind !== 'certificate') throw DeviceErrors.credentialKindMismatch('psk');
    return { kind: 'certificate', fingerprintSha256: request.certificateSha256 };
  }
  if (current.credential_kind !== 'psk') throw DeviceErrors.credentialKindMismatch('certificate');
  return {
    kind: 'psk',
    pskIdentity: current.psk_identity!,
    pskKey: Buffer.from(request.pskKeyBase64, 'base64'),
  };
}

function credentialChange(before: DeviceRow, after: DeviceRow): Record<string, string> {
  if (before.credential_kind === 'psk') return { pskIdentity: before.psk_identity! };
  const from = before.certificate_fingerprint!;
  const to = after.certificate_fingerprint!;
  return from === to ? { fingerprintSha256: from } : { from, to };
}

export function toFactoryCredentialView(device: DeviceRow): FactoryCredentialView {
  return {
    endpointName: device.endpoint_name,
    credential: credentialOf(device),
    revokedAt: device.credential_revoked_at?.toISOString() ?? null,
  };
}
