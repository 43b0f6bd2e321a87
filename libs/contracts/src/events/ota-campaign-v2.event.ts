import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { sha256Hex } from './common';

/** The factory bundle's identifier rule for classId (libs/factory-bundle), as in ota.firmware.v1. */
const classId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'class id');
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A campaign's life (spec §6.4, §6.7); v1's enum had no approval, resume, cancel or revert. */
export const OTA_CAMPAIGN_EVENT_TYPES = [
  'created',
  'submitted',
  'approved',
  'denied',
  'scheduled',
  'started',
  'phase-activated',
  'phase-passed',
  'phase-failed',
  'paused',
  'resumed',
  'halted',
  'cancelling',
  'cancelled',
  'completed',
  'revert-created',
] as const;
export type OtaCampaignEventType = (typeof OTA_CAMPAIGN_EVENT_TYPES)[number];

const PHASE_EVENTS: ReadonlySet<OtaCampaignEventType> = new Set([
  'phase-activated',
  'phase-passed',
  'phase-failed',
]);

/**
 * One campaign transition with the counters at that moment. Aggregates and operator key ids only:
 * no device list, no occupant, no reading (contract test in ota-topics.spec.ts).
 */
export const otaCampaignV2Event = eventEnvelope
  .extend({
    campaignId: z.string().min(1).max(64),
    type: z.enum(OTA_CAMPAIGN_EVENT_TYPES),
    manifestDigest: sha256Hex,
    sequenceNumber: count,
    classId,
    /** 1-based, as in ota.device-status.v2. */
    phase: z.number().int().min(1).max(64).optional(),
    counts: z
      .object({
        targets: count,
        notified: count,
        succeeded: count,
        failed: count,
        timedOut: count,
        rolledBack: count,
      })
      .optional(),
    /** Why a campaign halted: the abort rule (its index in the campaign) and the counts it crossed on. */
    reason: z
      .object({
        rule: z.number().int().nonnegative().max(63),
        scope: z.enum(['phase', 'campaign']),
        failed: count,
        executed: count,
      })
      .optional(),
    /**
     * On halted: MANIFEST_REVOKED when the campaign's manifest was revoked (then no `reason`: no abort
     * rule crossed); absent for a halt by an abort rule (`reason` says which) or by a failed shadow
     * run (`shadow` says so).
     */
    haltCode: z.enum(['MANIFEST_REVOKED']).optional(),
    /**
     * The shadow run's end (spec §6 item 3): on `phase-activated` of phase 1 when every twin succeeded
     * (passed), on `halted` when a twin failed, rolled back or timed out (failed: no `reason`, the
     * campaign never resumes). Twins are in no phase and in no `counts`. Added after v2 was published:
     * an optional property, so earlier consumers read on.
     */
    shadow: z
      .object({
        outcome: z.enum(['passed', 'failed']),
        twins: count,
        succeeded: count,
        failed: count,
      })
      .optional(),
    /** The operator API key that acted; absent for the distributor's own transitions. */
    actor: z.string().min(1).max(128).optional(),
    cancelMode: z.enum(['graceful', 'force']).optional(),
    /** On revert-created: the campaign that reinstalls the previous firmware under a higher sequence. */
    revertCampaignId: z.string().min(1).max(64).optional(),
  })
  .superRefine((event, ctx) => {
    const need = (field: keyof typeof event, when: boolean) => {
      if (when && event[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `${event.type} carries ${field}` });
    };
    need('phase', PHASE_EVENTS.has(event.type));
    need('reason', event.type === 'halted' && event.haltCode === undefined && event.shadow === undefined);
    need('cancelMode', event.type === 'cancelling');
    need('revertCampaignId', event.type === 'revert-created');
  });
export type OtaCampaignV2Event = z.infer<typeof otaCampaignV2Event>;

export const OTA_CAMPAIGNS_V2 = defineTopic<OtaCampaignV2Event>({
  name: 'ota.campaigns.v2',
  producers: ['ota-distributor'],
  consumers: [],
  schema: otaCampaignV2Event,
  key: (event) => `${event.tenantId}/${event.campaignId}`,
  partitions: 3,
  example: {
    eventId: '3c1f0a2e-8b7d-4e6f-9a5b-2c3d4e5f6a7b',
    tenantId: 'utility-north',
    occurredAt: '2026-12-03T09:12:00.000Z',
    campaignId: '0b6f3c2a-1d4e-4f5a-8b9c-7d6e5f4a3b2c',
    type: 'halted',
    manifestDigest: '5f2b1c7e0d9a8b6c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d',
    sequenceNumber: 43,
    classId: 'em300-v2',
    phase: 2,
    counts: { targets: 1000, notified: 400, succeeded: 280, failed: 0, timedOut: 0, rolledBack: 120 },
    reason: { rule: 0, scope: 'phase', failed: 120, executed: 400 },
  },
});
