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
  /** Twins are named meters of the tenant and class: anything else answers as unknown (no probing). */
  shadowTwinUnknown: (deviceIds: readonly string[]) =>
    new DomainError(
      'unprocessable',
      'SHADOW_TWIN_UNKNOWN',
      `shadowRun.twins: no ACTIVE meter of this tenant and class: ${deviceIds.join(', ')}`,
      { field: 'shadowRun.twins', deviceIds: [...deviceIds] },
    ),
  shadowTwinBusy: (deviceIds: readonly string[]) =>
    new DomainError(
      'conflict',
      'SHADOW_TWIN_BUSY',
      `shadowRun.twins: an unfinished execution holds ${deviceIds.join(', ')}`,
      { field: 'shadowRun.twins', deviceIds: [...deviceIds] },
    ),
  /** A revision no twin runs would meet the image first in phase 1: refused. */
  shadowTwinMissing: (revisions: readonly (string | null)[]) =>
    new DomainError(
      'conflict',
      'SHADOW_TWIN_MISSING',
      `shadowRun.twins: no twin reported the targets' hardware revision ${revisions
        .map((r) => r ?? '(none reported)')
        .join(', ')}`,
      { field: 'shadowRun.twins', hardwareRevisions: [...revisions] },
    ),
  /** Phase 1 waits for every twin; not even an operator skips the shadow run. */
  shadowPending: () =>
    new DomainError(
      'conflict',
      'SHADOW_RUN_PENDING',
      'Phase 1 opens only once every twin of the shadow run succeeded',
    ),
  /** The image failed on a twin: never resumed, a new campaign is needed. */
  shadowFailed: () =>
    new DomainError(
      'conflict',
      'SHADOW_FAILED',
      'The shadow run failed on a twin; the campaign never resumes',
    ),
  window: (index: number, refusal: WindowRefusal) =>
    new DomainError(
      'unprocessable',
      refusal.code,
      `maintenanceWindows.${index}.${refusal.field}: ${refusal.message}`,
      { field: `maintenanceWindows.${index}.${refusal.field}` },
    ),
} as const;
