import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { sha256Hex } from './common';

export const otaCampaignEvent = eventEnvelope.extend({
  campaignId: z.string().min(1).max(64),
  type: z.enum(['created', 'started', 'phase-advanced', 'paused', 'halted', 'completed']),
  firmware: z.object({
    version: z.string().min(1).max(64),
    sequenceNumber: z.number().int().nonnegative(),
    payloadDigest: sha256Hex,
  }),
  phase: z.number().int().nonnegative().optional(),
  reason: z.string().max(512).optional(),
});
export type OtaCampaignEvent = z.infer<typeof otaCampaignEvent>;

export const OTA_CAMPAIGNS = defineTopic<OtaCampaignEvent>({
  name: 'ota.campaigns.v1',
  producers: ['ota-distributor'],
  consumers: [],
  schema: otaCampaignEvent,
  key: (event) => `${event.tenantId}/${event.campaignId}`,
  partitions: 3,
  example: {
    eventId: '1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b',
    tenantId: 'utility-north',
    occurredAt: '2026-11-26T09:00:00.000Z',
    campaignId: 'fw-2026-11',
    type: 'started',
    firmware: {
      version: '4.2.0',
      sequenceNumber: 42,
      payloadDigest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    },
    phase: 1,
  },
});
