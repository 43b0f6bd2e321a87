import { z } from 'zod';
import { FIRMWARE_FAILURE_CODES } from '@meterkeep/firmware';
import type { MeterStorage } from '../device/meter-storage';

/** The §6.3 states of one execution on the meter. */
export const UPDATE_STATES = [
  'IDLE',
  'CHECKING',
  'NOTIFIED',
  'DOWNLOADING',
  'DOWNLOAD_PAUSED',
  'DOWNLOADED',
  'VERIFYING',
  'VERIFIED',
  'WAITING_WINDOW',
  'WAITING_FORCE_TIME',
  'DOWNLOAD_ONLY_HOLD',
  'INSTALLING',
  'REBOOTING',
  'CONFIRMING',
  'SUCCEEDED',
  'FAILED',
  'REJECTED',
  'ROLLED_BACK',
  'CANCELLED',
] as const;
export type UpdateStateName = (typeof UPDATE_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<UpdateStateName> = new Set([
  'SUCCEEDED',
  'FAILED',
  'REJECTED',
  'ROLLED_BACK',
  'CANCELLED',
]);

const slot = z.enum(['A', 'B']);
export type Slot = z.infer<typeof slot>;
export const otherSlot = (s: Slot): Slot => (s === 'A' ? 'B' : 'A');

const digest = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const componentState = z.strictObject({
  activeSlot: slot,
  /** The persisted sequence counter: advanced only after a confirmed boot (Uptane fast-forward). */
  installedSequence: count.optional(),
  installedManifestDigest: digest.optional(),
  /** SHA-256 and size of the image in the active slot, re-verified at every boot. */
  imageDigest: digest.optional(),
  imageSize: count.optional(),
  /** The signed version string of the component's image (display only: trust rests on the digests). */
  version: z.string().max(64).optional(),
});
export type ComponentState = z.infer<typeof componentState>;

/** An image written to an inactive slot and not yet confirmed: what boot verifies and activates. */
const pendingImage = z.strictObject({
  component: z.string(),
  slot,
  digest,
  size: count,
  version: z.string().max(64).optional(),
});
export type PendingImage = z.infer<typeof pendingImage>;

const execution = z.strictObject({
  executionId: z.string(),
  manifestDigest: digest,
  sequenceNumber: count,
  nonce: z.string(),
  state: z.enum(UPDATE_STATES),
  failureCode: z
    .enum(FIRMWARE_FAILURE_CODES)
    .or(z.string().regex(/^DOWNLOAD_HTTP_\d{3}$/))
    .optional(),
  attempt: count,
  /** Status reports sent for this execution (the `seq` of the next one). */
  statusSeq: count,
  /** The download in progress: bytes on disk in `download.part` that the offset vouches for. */
  download: z.strictObject({ component: z.string(), offset: count, interruptions: count }).optional(),
  /**
   * Images verified and decoded, kept until installed (a download-only hold or a maintenance window
   * must not fetch them again); re-verified from disk before use.
   */
  staged: z.array(pendingImage.omit({ slot: true })).default([]),
  /** Images written to inactive slots, activated together at reboot (all or none). */
  pending: z.array(pendingImage).default([]),
  /** Trusted time (ms) of the reboot into the new slots, for the confirm timeout. */
  rebootedAt: count.optional(),
});
export type ExecutionState = z.infer<typeof execution>;

export const updateStateSchema = z.strictObject({
  version: z.literal(1),
  components: z.record(z.string(), componentState),
  /** Counter of the last directive accepted (Uptane metadata rollback). */
  lastDirectiveCounter: count.optional(),
  /** Last authenticated server time (ms) and the monotonic time elapsed since, at the last write. */
  trustedTime: z.strictObject({ serverMs: count, elapsedMs: count }).optional(),
  execution: execution.optional(),
});
export type UpdateState = z.infer<typeof updateStateSchema>;

const STATE_FILE = 'update-state.json';
export const slotFile = (component: string, s: Slot) => `slot-${component}-${s}.bin`;
export const PART_FILE = 'download.part';
export const stagedFile = (component: string) => `staged-${component}.bin`;

/** The update engine's non-volatile state: one JSON file written whole, slot images beside it. */
export class UpdateStore {
  constructor(readonly storage: MeterStorage) {}

  load(): UpdateState | undefined {
    const text = this.storage.read(STATE_FILE);
    if (text === undefined) return undefined;
    return updateStateSchema.parse(JSON.parse(text));
  }

  save(state: UpdateState): void {
    this.storage.write(STATE_FILE, JSON.stringify(updateStateSchema.parse(state)));
  }

  readSlot(component: string, s: Slot): Buffer | undefined {
    return this.storage.readBytes(slotFile(component, s));
  }

  writeSlot(component: string, s: Slot, image: Uint8Array): void {
    this.storage.write(slotFile(component, s), image);
  }
}
