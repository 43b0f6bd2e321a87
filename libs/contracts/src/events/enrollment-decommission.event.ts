import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { endpointName } from './common';

/** The services with a step in a meter's decommissioning besides the registry (enrollment) itself. */
export const DECOMMISSION_STEP_SERVICES = ['bootstrap', 'ota-distributor', 'privacy'] as const;
export type DecommissionStepService = (typeof DECOMMISSION_STEP_SERVICES)[number];

/**
 * A decommissioning saga asks each service to do its step for one meter (bootstrap: revoke its
 * operational certificates onto the CRL and refuse its factory credential; ota-distributor: remove its
 * executions; privacy: close its open occupancy and erase or retain per the tenant's policy) and to
 * confirm on enrollment.decommission-confirmations.v1. Published again, with the next attempt number,
 * while a confirmation is missing. Ids only: no credential, no subject.
 */
export const enrollmentDecommissionRequestEvent = z.strictObject({
  ...eventEnvelope.shape,
  decommissionId: z.string().min(1).max(64),
  /** 1 on the first fan-out; a retry for a missing confirmation counts up. */
  attempt: z.number().int().min(1).max(10_000),
  deviceId: endpointName,
  /** When the registry moved the meter to DECOMMISSIONED (the occupancy closes at this instant). */
  decommissionedAt: z.iso.datetime({ offset: true }),
});
export type EnrollmentDecommissionRequestEvent = z.infer<typeof enrollmentDecommissionRequestEvent>;

export const ENROLLMENT_DECOMMISSION_REQUESTS = defineTopic<EnrollmentDecommissionRequestEvent>({
  name: 'enrollment.decommission-requests.v1',
  producers: ['enrollment'],
  consumers: [...DECOMMISSION_STEP_SERVICES],
  schema: enrollmentDecommissionRequestEvent,
  key: (event) => `${event.tenantId}/${event.deviceId}`,
  partitions: 3,
  example: {
    eventId: '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d',
    tenantId: 'utility-north',
    occurredAt: '2026-12-03T10:00:00.000Z',
    decommissionId: 'dc-0b7d3c1e-5a2f-4c8e-9d1b-2f3a4b5c6d7e',
    attempt: 1,
    deviceId: 'MTR-0001',
    decommissionedAt: '2026-12-03T10:00:00.000Z',
  },
});

/**
 * One service's step of a decommissioning, done (`completed`), nothing to do (`not-applicable`), not
 * done yet (`pending`: asked again later) or refused (`failed`). `facts` are short, non-secret
 * statements the signed decommission record lists (serials revoked, executions removed, keys destroyed).
 */
export const enrollmentDecommissionConfirmationEvent = z.strictObject({
  ...eventEnvelope.shape,
  decommissionId: z.string().min(1).max(64),
  deviceId: endpointName,
  service: z.enum(DECOMMISSION_STEP_SERVICES),
  instance: z.string().min(1).max(128).optional(),
  outcome: z.enum(['completed', 'not-applicable', 'pending', 'failed']),
  attempt: z.number().int().min(1).max(10_000),
  detail: z.string().max(512).optional(),
  facts: z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()])).optional(),
});
export type EnrollmentDecommissionConfirmationEvent = z.infer<typeof enrollmentDecommissionConfirmationEvent>;

export const ENROLLMENT_DECOMMISSION_CONFIRMATIONS = defineTopic<EnrollmentDecommissionConfirmationEvent>({
  name: 'enrollment.decommission-confirmations.v1',
  producers: [...DECOMMISSION_STEP_SERVICES],
  consumers: ['enrollment'],
  schema: enrollmentDecommissionConfirmationEvent,
  key: (event) => `${event.tenantId}/${event.deviceId}`,
  partitions: 3,
  example: {
    eventId: '7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e',
    tenantId: 'utility-north',
    occurredAt: '2026-12-03T10:00:02.000Z',
    decommissionId: 'dc-0b7d3c1e-5a2f-4c8e-9d1b-2f3a4b5c6d7e',
    deviceId: 'MTR-0001',
    service: 'bootstrap',
    instance: 'bootstrap-0',
    outcome: 'completed',
    attempt: 1,
    detail: '1 operational certificate revoked, on CRL 7',
    facts: { certificatesRevoked: 1, crlNumber: 7 },
  },
});
