import { Injectable } from '@nestjs/common';
import type { Caller } from '@meterkeep/service-runtime';
import { ConsentPolicies } from './consent-policies';
import { ConsentErrors } from './consents.errors';
import { ConsentsRepository, toLedgerEntry, toOccupancyTerms } from './consents.repository';
import type { ConsentLedgerView, ConsentPermissionsView } from './consents.schemas';
import { toConsentEntryView } from './consent.view';
import { permittedGranularity, policyRef, recipientKind } from './policy';

/**
 * The ledger as it stood at `asOf` (entries recorded by then), and what it permitted at that instant
 * for every purpose of the policy and every recipient the purpose admits (third parties: those the
 * ledger names). Another tenant's occupancy answers as one that does not exist.
 */
@Injectable()
export class ReadConsentsUseCase {
  constructor(
    private readonly consents: ConsentsRepository,
    private readonly policies: ConsentPolicies,
  ) {}

  async ledger(caller: Caller, occupancyId: string, asOf = new Date()): Promise<ConsentLedgerView> {
    await this.occupancy(caller, occupancyId);
    const rows = await this.consents.list(undefined, caller.tenantId, occupancyId, asOf);
    return { occupancyId, asOf: asOf.toISOString(), entries: rows.map(toConsentEntryView) };
  }

  async permissions(caller: Caller, occupancyId: string, asOf = new Date()): Promise<ConsentPermissionsView> {
    const occupancy = toOccupancyTerms(await this.occupancy(caller, occupancyId));
    const policy = await this.policies.forTenant(caller.tenantId);
    const policies = await this.policies.versions(caller.tenantId);
    const entries = (await this.consents.list(undefined, caller.tenantId, occupancyId, asOf)).map((row) =>
      toLedgerEntry(row, policies),
    );
    const thirdParties = [...new Set(entries.map((e) => e.recipient))].filter(
      (r) => recipientKind(r) === 'third-party',
    );
    const permissions = Object.entries(policy.purposes).flatMap(([purpose, rule]) =>
      rule.recipients
        .flatMap((kind) => (kind === 'third-party' ? thirdParties : [kind]))
        .map((recipient) => ({
          purpose,
          recipient,
          granularity: permittedGranularity(entries, occupancy, recipient, purpose, asOf, policy),
        })),
    );
    return { occupancyId, asOf: asOf.toISOString(), policy: policyRef(policy), permissions };
  }

  private async occupancy(caller: Caller, occupancyId: string) {
    const occupancy = await this.consents.findOccupancy(caller.tenantId, occupancyId);
    if (!occupancy) throw ConsentErrors.occupancyNotFound();
    return occupancy;
  }
}
