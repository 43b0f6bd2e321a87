import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { endpointName } from './common';
import { consentPurpose, consentRecipient } from './privacy-consent.event';
import { releasedGranularity } from './telemetry-released.event';

const instant = z.iso.datetime({ offset: true });

/** Releases one recall notice names at most: a 90-day back-dating of half-hourly values spans several. */
export const MAX_RECALLED_RELEASES = 500;

/**
 * Values the release gate let out to one recipient that held readings of another occupancy: a move-out
 * recorded late (back-dated) makes the readings from the close on the next occupant's, and those already
 * released under the old occupant's consent are recalled. The recipient should discard each value named
 * (it cannot be split: it is one sum). Names what the recipient already holds (the released records'
 * ids, occupancy, windows) and the period; never a value, and never the next occupancy or anyone's
 * subject reference. Keyed like telemetry.released.v1, so it lands on the partition of the releases it
 * recalls. Several notices (`part` of `parts`) when more than MAX_RECALLED_RELEASES are recalled.
 */
export const privacyReleaseRecallEvent = z.strictObject({
  ...eventEnvelope.shape,
  reason: z.enum(['occupancy-backdated']),
  /** The occupancy whose releases are recalled (the one each recalled telemetry.released.v1 names). */
  occupancyId: z.string().min(1).max(64),
  meterId: endpointName,
  recipient: consentRecipient,
  /** Readings from `from` (the back-dated close) up to `to` (when it was recorded) were not its. */
  period: z.strictObject({ from: instant, to: instant }),
  releases: z
    .array(
      z.strictObject({
        /** The eventId of the telemetry.released.v1 record recalled. */
        releaseId: z.uuid(),
        purpose: consentPurpose,
        granularity: releasedGranularity,
        windowStart: instant,
        windowEnd: instant,
      }),
    )
    .min(1)
    .max(MAX_RECALLED_RELEASES),
  part: z.int().min(1),
  parts: z.int().min(1),
});
export type PrivacyReleaseRecallEvent = z.infer<typeof privacyReleaseRecallEvent>;

export const PRIVACY_RELEASE_RECALLS = defineTopic<PrivacyReleaseRecallEvent>({
  name: 'privacy.release-recalls.v1',
  producers: ['privacy'],
  // Read by the recipients' connectors beside telemetry.released.v1, granted by the operator.
  consumers: [],
  schema: privacyReleaseRecallEvent,
  key: (event) => `${event.tenantId}/${event.occupancyId}`,
  partitions: 6,
  example: {
    eventId: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
    tenantId: 'utility-north',
    occurredAt: '2026-11-20T09:30:00.000Z',
    reason: 'occupancy-backdated',
    occupancyId: 'occ-7f3e',
    meterId: 'MTR-000001',
    recipient: 'third-party:coach',
    period: { from: '2026-11-12T12:00:00.000Z', to: '2026-11-20T09:30:00.000Z' },
    releases: [
      {
        releaseId: '7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a',
        purpose: 'third-party',
        granularity: 'daily',
        windowStart: '2026-11-12T00:00:00.000Z',
        windowEnd: '2026-11-13T00:00:00.000Z',
      },
    ],
    part: 1,
    parts: 1,
  },
});
