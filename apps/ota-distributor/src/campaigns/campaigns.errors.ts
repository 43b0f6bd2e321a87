import { DomainError } from '@meterkeep/service-runtime';
import type { CampaignState } from './domain/state-machines';
import type { WindowRefusal } from './domain/maintenance-window';

/** Refusals of the campaign routes. Another tenant's campaign or manifest answers as unknown. */
export const CampaignErrors = {
  campaignNotFound: () => new DomainError('not-found', 'CAMPAIGN_NOT_FOUND', 'No such campaign'),
  manifestNotFound: () => new DomainError('not-found', 'MANIFEST_NOT_FOUND', 'No such manifest'),
  manifestRevoked: () =>
    new DomainError('conflict', 'MANIFEST_REVOKED', 'The manifest was revoked; it is never deployed'),
  /** The state machine refused: the answer names the state the campaign is in. */
  stateConflict: (state: CampaignState, action: string) =>
    new DomainError('conflict', 'CAMPAIGN_STATE_CONFLICT', `Cannot ${action} a campaign in state ${state}`, {
      state,
    }),
  /** Four eyes: whoever created a campaign never approves or denies it. */
  sameActor: () =>
    new DomainError('forbidden', 'SAME_ACTOR', "The campaign's creator cannot approve or deny it"),
  /** Revert reinstalls under a higher sequence: anti-rollback is never disabled to recover. */
  revertNotHigher: (why: string) =>
    new DomainError('unprocessable', 'REVERT_MANIFEST_UNFIT', `revertOnHalt.manifestId: ${why}`, {
      field: 'revertOnHalt.manifestId',
    }),
  /** The registry projection has no such attribute: refused rather than silently widened. */
  targetUnsupported: (field: string) =>
    new DomainError(
      'unprocessable',
      'TARGET_QUERY_UNSUPPORTED',
      `target.query.${field}: the distributor's device projection has no such attribute yet`,
      { field: `target.query.${field}` },
    ),
  /** A halt is resumed only by an operator who says they saw it. */
  haltNotAcknowledged: () =>
    new DomainError(
      'unprocessable',
      'HALT_NOT_ACKNOWLEDGED',
      'acknowledgeHalt: a halted campaign resumes only with acknowledgeHalt: true',
      { field: 'acknowledgeHalt' },
    ),
  window: (index: number, refusal: WindowRefusal) =>
    new DomainError(
      'unprocessable',
      refusal.code,
      `maintenanceWindows.${index}.${refusal.field}: ${refusal.message}`,
      { field: `maintenanceWindows.${index}.${refusal.field}` },
    ),
} as const;
