import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { consentPurpose } from './privacy-consent.event';
import { releasedGranularity } from './telemetry-released.event';

const instant = z.iso.datetime({ offset: true });

/** A tenant's network cell: a feeder or secondary substation the tenant names, never a meter. */
export const networkCellId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'cell id');

/**
 * What a network operator gets from the release gate (spec §4.2, GB DNO privacy plans [P9], the "15/15"
 * pattern [P16]): one cell's totals for one window, released only when the cell held at least the
 * minimum number of meters and no meter more than the maximum share of it; a suppressed cell leaves no
 * record. No occupancy, meter or per-meter value: the aggregate is the anonymised product, so it is in
 * the clear (no occupancy key could shred a total that mixes many occupancies). Its own topic, not
 * telemetry.released.v1: that one's occupancy and meter are required (a new shape is a new topic).
 */
export const telemetryReleasedAggregateEvent = z.strictObject({
  ...eventEnvelope.shape,
  recipient: z.literal('dno'),
  purpose: consentPurpose,
  cellId: networkCellId,
  granularity: releasedGranularity,
  /** [windowStart, windowEnd) in the tenant's zone. */
  windowStart: instant,
  windowEnd: instant,
  totals: z
    .array(
      z.strictObject({
        obis: z.string().max(32),
        unit: z.string().max(16),
        /** value × 10^scaler summed over the cell's meters and the window, in unit. */
        quantity: z.number(),
        /** Distinct meters in the total: at least the rule's minimum. */
        meterCount: z.int().min(1),
      }),
    )
    .min(1)
    .max(64),
});
export type TelemetryReleasedAggregateEvent = z.infer<typeof telemetryReleasedAggregateEvent>;

export const TELEMETRY_RELEASED_AGGREGATES = defineTopic<TelemetryReleasedAggregateEvent>({
  name: 'telemetry.released-aggregates.v1',
  producers: ['privacy'],
  // The operator grants the network operator's connector, not the contracts.
  consumers: [],
  schema: telemetryReleasedAggregateEvent,
  key: (event) => `${event.tenantId}/${event.cellId}`,
  partitions: 6,
  example: {
    eventId: '3a1f0c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
    tenantId: 'utility-north',
    occurredAt: '2026-12-01T00:30:05.000Z',
    recipient: 'dno',
    purpose: 'network-operator',
    cellId: 'feeder-SS0412-F3',
    granularity: 'half-hourly',
    windowStart: '2026-11-30T23:30:00.000Z',
    windowEnd: '2026-12-01T00:00:00.000Z',
    totals: [{ obis: '1-0:1.29.0*255', unit: 'Wh', quantity: 18_442, meterCount: 37 }],
  },
});
