import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@meterkeep/db/nest';
import type { Executor, IssuanceKind, IssuedCertificateRow, RevocationReason } from '../core/database';

export interface IssuedCertificate {
  tenantId: string;
  serial: string;
  endpointName: string;
  kind: IssuanceKind;
  notBefore: Date;
  notAfter: Date;
}

/** Every operational certificate bootstrap issued, and which of them are revoked. */
@Injectable()
export class IssuedCertificatesRepository {
  constructor(@Inject(DATABASE) private readonly db: Executor) {}

  async record(certificate: IssuedCertificate): Promise<void> {
    await this.db
      .insertInto('issued_certificates')
      .values({
        tenant_id: certificate.tenantId,
        serial: certificate.serial,
        endpoint_name: certificate.endpointName,
        kind: certificate.kind,
        not_before: certificate.notBefore,
        not_after: certificate.notAfter,
      })
      .execute();
  }

  find(tenantId: string, serial: string): Promise<IssuedCertificateRow | undefined> {
    return this.db
      .selectFrom('issued_certificates')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('serial', '=', serial)
      .executeTakeFirst();
  }

  /** The device's most recently issued certificate: its current one. */
  latestOf(tenantId: string, endpointName: string): Promise<IssuedCertificateRow | undefined> {
    return this.db
      .selectFrom('issued_certificates')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('endpoint_name', '=', endpointName)
      .orderBy('issued_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Revokes every unrevoked certificate of the device issued up to `issuedBefore`; returns their serials. */
  async revokeDevice(
    executor: Executor,
    target: {
      tenantId: string;
      endpointName: string;
      reason: RevocationReason;
      at: Date;
      issuedBefore: Date;
    },
  ): Promise<string[]> {
    const rows = await executor
      .updateTable('issued_certificates')
      .set({ revoked_at: target.at, revocation_reason: target.reason })
      .where('tenant_id', '=', target.tenantId)
      .where('endpoint_name', '=', target.endpointName)
      .where('revoked_at', 'is', null)
      .where('issued_at', '<=', target.issuedBefore)
      .returning('serial')
      .execute();
    return rows.map((row) => row.serial);
  }

  /** What the tenant's CRL lists: revoked certificates that have not yet expired. */
  revokedUnexpired(executor: Executor, tenantId: string, now: Date) {
    return executor
      .selectFrom('issued_certificates')
      .select(['serial', 'revoked_at', 'revocation_reason'])
      .where('tenant_id', '=', tenantId)
      .where('revoked_at', 'is not', null)
      .where('not_after', '>', now)
      .orderBy('serial')
      .execute();
  }

  /** Records an event id; false when it was seen before (a redelivery). */
  async firstDelivery(executor: Executor, eventId: string): Promise<boolean> {
    const inserted = await executor
      .insertInto('processed_events')
      .values({ event_id: eventId })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }
}
