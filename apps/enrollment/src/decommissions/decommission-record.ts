import { z } from 'zod';
import { DECOMMISSION_STEP_SERVICES, type DecommissionStepService } from '@meterkeep/contracts';

/**
 * The steps a decommissioning waits for, one per service besides the registry's own (done in the
 * request's transaction). Never assumed: a step is done only when its service confirmed it.
 */
export const DECOMMISSION_STEPS: readonly DecommissionStepService[] = DECOMMISSION_STEP_SERVICES;

const DONE = new Set(['completed', 'not-applicable']);

export interface StepConfirmation {
  service: string;
  instance: string;
  outcome: 'completed' | 'not-applicable' | 'pending' | 'failed';
  attempt: number;
  detail: string | null;
  facts: Record<string, string | number | boolean> | null;
  eventId: string;
  confirmedAt: Date;
}

/** The steps not yet confirmed done (a pending or failed answer is asked for again). Pure. */
export function missingSteps(confirmations: readonly StepConfirmation[]): DecommissionStepService[] {
  const done = new Set(confirmations.filter((c) => DONE.has(c.outcome)).map((c) => c.service));
  return DECOMMISSION_STEPS.filter((service) => !done.has(service));
}

/** The wait before attempt `attempt + 1`: the base doubling per attempt, at most a minute. Pure. */
export function retryDelayMs(baseMs: number, attempt: number): number {
  return Math.min(60_000, baseMs * 2 ** Math.min(20, Math.max(0, attempt - 1)));
}

const iso = z.string();
const fact = z.union([z.string(), z.number(), z.boolean()]);

/**
 * The signed decommission record: JSON, ES256 over its RFC 8785 form without `signature` (as the
 * erasure certificate is signed). Ids and facts only: no credential, no subject. Its digest goes on the
 * tenant's audit chain in the `device.decommission-recorded` record that follows `chainHeadBefore`.
 */
export const decommissionRecordSchema = z.strictObject({
  recordVersion: z.literal(1),
  decommissionId: z.string(),
  tenantId: z.string(),
  deviceId: z.string(),
  requestedBy: z.string(),
  requestedAt: iso,
  recordedAt: iso,
  registry: z.strictObject({
    state: z.literal('DECOMMISSIONED'),
    credentialKind: z.enum(['certificate', 'psk']),
    factoryCredential: z.enum(['psk-destroyed', 'certificate-refused']),
  }),
  steps: z.array(
    z.strictObject({
      service: z.enum(DECOMMISSION_STEP_SERVICES),
      instance: z.string(),
      outcome: z.enum(['completed', 'not-applicable']),
      attempt: z.number().int(),
      confirmedAt: iso,
      eventId: z.string(),
      detail: z.string().nullable(),
      facts: z.record(z.string(), fact),
    }),
  ),
  /** How many times the steps were asked for (1 when every service answered the first request). */
  attempts: z.number().int(),
  audit: z.strictObject({
    chainHeadBefore: z.strictObject({ sequence: z.number().int(), digest: z.string() }),
  }),
  signature: z.strictObject({ alg: z.literal('ES256'), keyId: z.string(), value: z.string() }).optional(),
});
export type DecommissionRecord = z.infer<typeof decommissionRecordSchema>;
export type UnsignedDecommissionRecord = Omit<DecommissionRecord, 'signature'>;

export interface RecordInput {
  decommissionId: string;
  tenantId: string;
  deviceId: string;
  requestedBy: string;
  requestedAt: Date;
  credentialKind: 'certificate' | 'psk';
  attempts: number;
  confirmations: readonly StepConfirmation[];
  chainHeadBefore: { sequence: number; digest: string };
  now: Date;
}

/** The record of a decommissioning whose steps are all confirmed done (throws otherwise). Pure. */
export function decommissionRecord(input: RecordInput): UnsignedDecommissionRecord {
  const missing = missingSteps(input.confirmations);
  if (missing.length > 0) throw new Error(`steps not confirmed: ${missing.join(', ')}`);
  const steps = DECOMMISSION_STEPS.map((service) => {
    const c = input.confirmations.find((x) => x.service === service && DONE.has(x.outcome))!;
    return {
      service,
      instance: c.instance,
      outcome: c.outcome as 'completed' | 'not-applicable',
      attempt: c.attempt,
      confirmedAt: c.confirmedAt.toISOString(),
      eventId: c.eventId,
      detail: c.detail,
      facts: c.facts ?? {},
    };
  });
  return {
    recordVersion: 1,
    decommissionId: input.decommissionId,
    tenantId: input.tenantId,
    deviceId: input.deviceId,
    requestedBy: input.requestedBy,
    requestedAt: input.requestedAt.toISOString(),
    recordedAt: input.now.toISOString(),
    registry: {
      state: 'DECOMMISSIONED',
      credentialKind: input.credentialKind,
      factoryCredential: input.credentialKind === 'psk' ? 'psk-destroyed' : 'certificate-refused',
    },
    steps,
    attempts: input.attempts,
    audit: { chainHeadBefore: input.chainHeadBefore },
  };
}
