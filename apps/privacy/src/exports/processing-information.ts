import type { ConsentPolicy } from '../consents/policy';

/**
 * The information Art. 15(1)(a)–(h) owes the subject, as data (processing.json): built from the
 * tenant's consent policy, its retention schedules and what the ledger and the release gate hold for
 * these occupancies. Nothing here is hard-coded law: purposes and bases come from the policy.
 */
export interface ProcessingInformation {
  controller: { tenantId: string };
  policy: string;
  purposes: {
    purpose: string;
    recipientKinds: string[];
    /** Granted with no consent (the policy's floor); 'none' when nothing is. */
    withoutConsent: string;
    legalBases: string[];
  }[];
  categories: string[];
  recipients: string[];
  retention: { purpose: string; retainDays: number; legalBasis: string; reference: string }[];
  backups: { retainDays: number };
  source: string;
  rights: string[];
  automatedDecisions: { exists: false; logic: null };
}

export const SUBJECT_RIGHTS = [
  'access (GDPR Art. 15)',
  'rectification (Art. 16)',
  'erasure (Art. 17)',
  'restriction of processing (Art. 18)',
  'data portability (Art. 20)',
  'objection (Art. 21)',
  'withdrawal of consent at any time, without affecting earlier processing (Art. 7(3))',
  'complaint to a supervisory authority (Art. 77)',
] as const;

export function processingInformation(input: {
  tenantId: string;
  policy: ConsentPolicy;
  policyRef: string;
  recipients: readonly string[];
  schedules: readonly { purpose: string; retain_days: number; legal_basis: string; reference: string }[];
  backupRetentionDays: number;
}): ProcessingInformation {
  return {
    controller: { tenantId: input.tenantId },
    policy: input.policyRef,
    purposes: Object.entries(input.policy.purposes)
      .map(([purpose, rule]) => ({
        purpose,
        recipientKinds: [...rule.recipients],
        withoutConsent: rule.floor,
        legalBases: Object.keys(rule.bases).sort(),
      }))
      .sort((a, b) => a.purpose.localeCompare(b.purpose)),
    categories: [
      'energy readings of the meter at the premises (interval and register values, OBIS, units)',
      'occupancy periods (which meter, from when to when)',
      'consent and opt-out decisions with their evidence references',
      'values released to recipients, per purpose and granularity',
    ],
    recipients: [...new Set(input.recipients)].sort(),
    retention: input.schedules
      .map((s) => ({
        purpose: s.purpose,
        retainDays: s.retain_days,
        legalBasis: s.legal_basis,
        reference: s.reference,
      }))
      .sort((a, b) => a.purpose.localeCompare(b.purpose)),
    backups: { retainDays: input.backupRetentionDays },
    source:
      'the smart meter at the premises (received by the telemetry ingest), and the utility’s own records of ' +
      'occupancy and consent',
    rights: [...SUBJECT_RIGHTS],
    automatedDecisions: { exists: false, logic: null },
  };
}
