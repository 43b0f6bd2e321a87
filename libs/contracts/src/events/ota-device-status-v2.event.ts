import { z } from 'zod';
import { defineTopic, eventEnvelope } from '../topic-contract';
import { deviceKey, endpointName, sha256Hex } from './common';
import { otaFailureCode } from './ota-firmware-common';

/**
 * Execution states (spec §6.4), named as AWS IoT Jobs names its own so operators can map them.
 * Terminal: FAILED, REJECTED, ROLLED_BACK, TIMED_OUT, CANCELLED, REMOVED (device decommissioned) and
 * ALREADY_INSTALLED (counts as success).
 */
export const OTA_EXECUTION_STATES = [
  'QUEUED',
  'NOTIFIED',
  'DOWNLOADING',
  'DOWNLOADED',
  'VERIFIED',
  'INSTALLING',
  'REBOOTING',
  'CONFIRMING',
  'SUCCEEDED',
  'FAILED',
  'REJECTED',
  'ROLLED_BACK',
  'TIMED_OUT',
  'CANCELLED',
  'REMOVED',
  'ALREADY_INSTALLED',
] as const;
export type OtaExecutionState = (typeof OTA_EXECUTION_STATES)[number];

/**
 * One execution's state change on one meter, or a progress report within its state (v1's enums were
 * too small: v1 stays until its consumers move). A report that repeats the state without progress (a
 * meter acknowledging the NOTIFIED the distributor set) is recorded but not published. No occupancy, no
 * location beyond what the device registry holds.
 */
export const otaDeviceStatusV2Event = eventEnvelope.extend({
  deviceId: endpointName,
  /** The campaign, or the deployment (an explicit device list) until campaigns exist. */
  campaignId: z.string().min(1).max(64),
  executionId: z.string().min(1).max(64),
  attempt: z.number().int().min(1).max(1000),
  /** Absent for a deployment without phases, and for a twin of a campaign's shadow run. */
  phase: z.number().int().min(1).max(64).optional(),
  /** True for a twin of the campaign's shadow run (it runs before phase 1 and is in no phase). */
  shadowRun: z.literal(true).optional(),
  state: z.enum(OTA_EXECUTION_STATES),
  /** The meter's progress within the state, when its report gave one. */
  progressPercent: z.number().int().min(0).max(100).optional(),
  manifestDigest: sha256Hex,
  sequenceNumber: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  failureCode: otaFailureCode.optional(),
  /** SHA-256 of the signed receipt that moved the execution to SUCCEEDED. */
  receiptDigest: sha256Hex.optional(),
});
export type OtaDeviceStatusV2Event = z.infer<typeof otaDeviceStatusV2Event>;

export const OTA_DEVICE_STATUS_V2 = defineTopic<OtaDeviceStatusV2Event>({
  name: 'ota.device-status.v2',
  producers: ['ota-distributor'],
  consumers: [],
  schema: otaDeviceStatusV2Event,
  key: deviceKey,
  partitions: 6,
  example: {
    eventId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    tenantId: 'utility-north',
    occurredAt: '2026-12-02T09:05:00.000Z',
    deviceId: 'MTR-000001',
    campaignId: 'fw-2026-12',
    executionId: 'exe-000001',
    attempt: 1,
    state: 'REJECTED',
    manifestDigest: '5f2b1c7e0d9a8b6c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d',
    sequenceNumber: 43,
    failureCode: 'DIGEST_MISMATCH',
  },
});
