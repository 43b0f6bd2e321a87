import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PRIVACY_CONSENT_STATE, PRIVACY_CONSENTS } from '@meterkeep/contracts';
import { type Caller, DomainError } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { consentEvent, consentStateEvents } from './consent-events';
import { ConsentPolicies } from './consent-policies';
import { ConsentErrors } from './consents.errors';
import { ConsentsRepository, toLedgerEntry, toOccupancyTerms } from './consents.repository';
import type { ConsentChangeBody, ConsentEntryView } from './consents.schemas';
import { toConsentEntryView } from './consent.view';
import { countErasure } from '../core/erasure-metrics';
import { ReleaseKeyShredder } from '../release/release-key-shredder';
import { ReleaseRepository } from '../release/release.repository';
import { decideConsentChange, permissionEndedAt, policyRef } from './policy';

const ACTION = {
  grant: 'privacy.consent-granted',
  withdraw: 'privacy.consent-withdrawn',
  'opt-out': 'privacy.consent-opted-out',
} as const;

/** Subject references are opaque but may be short: only one long enough to mean something is looked for. */
const namesSubject = (evidenceRef: string, subjectRef: string) =>
  subjectRef.length >= 4 && evidenceRef.toLowerCase().includes(subjectRef.toLowerCase());

/**
 * A grant, withdrawal or opt-out for one occupancy × purpose × recipient, decided by the tenant's policy
 * and appended to the ledger under a lock on the occupancy, with its events and audit record in the same
 * transaction. A refusal by the rules is audited too (on its own), then answered with its code.
 * A withdrawal or opt-out that leaves a (recipient, purpose) nothing from now on destroys its release
 * key in the same transaction: what was released to it is shredded inside the platform (spec §4.2).
 */
@Injectable()
export class RecordConsentChangeUseCase {
  constructor(
    private readonly consents: ConsentsRepository,
    private readonly policies: ConsentPolicies,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly shredder: ReleaseKeyShredder,
    private readonly release: ReleaseRepository,
  ) {}

  async execute(caller: Caller, occupancyId: string, body: ConsentChangeBody): Promise<ConsentEntryView> {
    const { tenantId } = caller;
    const now = new Date();
    const { evidenceRef, ...change } = body;
    try {
      const recorded = await this.transactions.run(async (trx) => {
        const occupancy = await this.consents.lockOccupancy(trx, tenantId, occupancyId);
        if (!occupancy) throw ConsentErrors.occupancyNotFound();
        if (namesSubject(evidenceRef, occupancy.subject_ref)) throw ConsentErrors.evidenceNamesSubject();
        const terms = toOccupancyTerms(occupancy);
        // Read in this transaction: the entry records the version it was decided under.
        const policies = await this.policies.versions(tenantId, trx);
        const policy = await this.policies.forTenant(tenantId, trx);
        const history = (await this.consents.list(trx, tenantId, occupancyId)).map((r) =>
          toLedgerEntry(r, policies),
        );
        const decision = decideConsentChange(policy, terms, history, change, now);
        if (!decision.ok) throw ConsentErrors.refused(decision.refusal);
        const { entry } = decision;
        const row = await this.consents.insert(trx, {
          consent_id: `con-${randomUUID()}`,
          tenant_id: tenantId,
          occupancy_id: occupancyId,
          purpose: entry.purpose,
          recipient: entry.recipient,
          granularity: entry.granularity,
          basis: entry.basis,
          status: entry.status,
          effective_from: entry.effectiveFrom,
          effective_to: entry.effectiveTo,
          historical_from: entry.historicalFrom,
          notice_sent_at: entry.noticeSentAt,
          evidence_ref: evidenceRef,
          actor: caller.actor,
          policy: policyRef(policy),
          version: entry.version,
          recorded_at: now,
        });
        const ledger = [...history, toLedgerEntry(row, policies)];
        // The release gate plans the occupancy at its next pass (a grant may release, a withdrawal holds).
        await this.release.markDue(trx, [occupancyId]);
        const shredded =
          body.action === 'grant'
            ? []
            : await this.shredder.destroy(
                trx,
                occupancyId,
                now,
                (key) =>
                  key.recipient === entry.recipient &&
                  permissionEndedAt(ledger, terms, key.recipient, key.purpose, now, policy),
              );
        countErasure('release-key', shredded.length);
        const meta = { tenantId, meterId: occupancy.meter_id };
        await this.outbox.enqueue(trx, PRIVACY_CONSENTS, [consentEvent(row, occupancy.meter_id, now)]);
        await this.outbox.enqueue(
          trx,
          PRIVACY_CONSENT_STATE,
          consentStateEvents(policy, terms, meta, ledger, entry, now),
        );
        await this.audit.append(trx, tenantId, [
          {
            action: ACTION[body.action],
            actor: caller.actor,
            subject: occupancyId,
            outcome: 'allowed',
            detail: {
              consentId: row.consent_id,
              purpose: row.purpose,
              recipient: row.recipient,
              granularity: row.granularity,
              basis: row.basis,
              version: row.version,
            },
          },
          ...shredded.map((key) => ({
            action: 'privacy.release-key-destroyed',
            actor: caller.actor,
            subject: key.key_id,
            outcome: 'allowed' as const,
            detail: {
              occupancyId,
              recipient: key.recipient,
              purpose: key.purpose,
              consentId: row.consent_id,
            },
          })),
        ]);
        return row;
      });
      return toConsentEntryView(recorded);
    } catch (error) {
      if (error instanceof DomainError && error.code !== 'OCCUPANCY_NOT_FOUND')
        await this.auditRefusal(caller, occupancyId, body, error.code);
      throw error;
    }
  }

  private auditRefusal(caller: Caller, occupancyId: string, body: ConsentChangeBody, reason: string) {
    return this.transactions.run((trx) =>
      this.audit.append(trx, caller.tenantId, [
        {
          action: ACTION[body.action],
          actor: caller.actor,
          subject: occupancyId,
          outcome: 'refused',
          detail: { reason, purpose: body.purpose, recipient: body.recipient },
        },
      ]),
    );
  }
}
