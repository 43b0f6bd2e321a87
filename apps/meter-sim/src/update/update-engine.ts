import { createHash, type KeyObject } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  type Directive,
  type DirectiveVerification,
  type FirmwareFailureCode,
  type FirmwareManifest,
  type ManifestComponent,
  checkManifestForDevice,
  componentName,
  signReceipt,
  verifyDirective,
  verifyManifestEnvelope,
} from '@meterkeep/firmware';
import { FirmwareDeltaError, applyVerifiedDelta, decodeImage } from '@meterkeep/firmware-delta';
import { sleepFor } from '../device/backoff';
import type { MeterStorage } from '../device/meter-storage';
import type { DistributorPort } from './distributor-port';
import { downloadOnce } from './resumable-download';
import { TrustedClock } from './trusted-clock';
import {
  type ExecutionState,
  PART_FILE,
  type PendingImage,
  stagedFile,
  type Slot,
  TERMINAL_STATES,
  type UpdateState,
  type UpdateStateName,
  UpdateStore,
  otherSlot,
} from './update-state';
import { type UpdateFaults, NO_FAULTS } from './update-faults';

export interface MeterIdentity {
  /** The meter's endpoint name (its certificate's CN). */
  readonly deviceId: string;
  /** From the factory bundle, compared byte for byte with the manifest's. */
  readonly vendorId: string;
  readonly classId: string;
  /** The components this meter has (its class's slots). */
  readonly components: readonly string[];
  /** Reported at check-in: campaigns stratify their phases by it. */
  readonly hardwareRevision?: string;
}

export interface UpdateTrust {
  /**
   * The distributor's directive keys, pinned from the bootstrap answer (`servers.ota.directivePublicKeysPem`):
   * the current one first, the next one beside it during a rotation. A directive verifies under any of them.
   */
  readonly directivePublicKeys: readonly KeyObject[];
  /** The update authority's root keys (factory bundle). */
  readonly rootPublicKeys: readonly KeyObject[];
  readonly revokedKeyIds?: ReadonlySet<string>;
  readonly requiredSignatures?: (componentId: string) => number;
  /** The meter's operational key: signs install receipts. */
  readonly operationalPrivateKey: KeyObject;
}

export interface UpdateEngineOptions {
  readonly storage: MeterStorage;
  readonly identity: MeterIdentity;
  readonly trust: UpdateTrust;
  readonly distributor: DistributorPort;
  /** Authenticated server time known at first start (bootstrap's answer); later the persisted one. */
  readonly initialTrustedTime?: Date;
  /** Largest image a slot holds (default 32 MiB, the distributor's default class cap). */
  readonly slotBytes?: number;
  /** Download attempts in one run before it pauses until the next poll. */
  readonly maxDownloadAttempts?: number;
  /** Interruptions of one download, across runs, before it fails with DOWNLOAD_EXHAUSTED. */
  readonly maxInterruptions?: number;
  /** Low-speed abort (rauc-hawkbit-updater's 100 B/s over 60 s). */
  readonly minBytesPerSecond?: number;
  readonly lowSpeedWindowMs?: number;
  readonly lowSpeedCheckEveryMs?: number;
  /** From reboot into a new slot to confirmation, at most (default 10 min). */
  readonly confirmTimeoutMs?: number;
  readonly faults?: UpdateFaults;
  readonly monotonicMs?: () => number;
  /** The wall clock: never used alone for a trust decision (see TrustedClock). */
  readonly wallClock?: () => Date;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Power-loss injection for tests: called at each step of an install; may throw to "cut power". */
  readonly onInstallStep?: (step: InstallStep) => void;
}

export type InstallStep = 'before-slot-write' | 'after-slot-write' | 'before-activate';

/** What one run came to: the execution's state and code, and the image bytes fetched. */
export interface RunOutcome {
  readonly state: UpdateStateName;
  readonly failureCode?: FirmwareFailureCode;
  readonly message?: string;
  readonly bytesFetched: number;
  /** The server's poll interval from this run's check-in, when it checked in. */
  readonly pollAfterSeconds?: number;
}

class Refused extends Error {
  constructor(
    readonly state: 'REJECTED' | 'FAILED' | 'DOWNLOAD_PAUSED',
    readonly code: FirmwareFailureCode | undefined,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_SLOT_BYTES = 32 * 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The meter's update engine (spec §6.3): check in, verify the directive and the manifest in the
 * fail-early order, download with resume, install into the inactive slots, reboot, verify at boot,
 * confirm or roll back, and only then advance the sequence counter and sign a receipt. Every step's
 * state is in MeterStorage first, so a meter killed at any point restarts from what it wrote.
 */
export class UpdateEngine {
  private readonly store: UpdateStore;
  private readonly clock: TrustedClock;
  private readonly faults: UpdateFaults;
  private state: UpdateState;
  /** The one receipt `loseFirstReceipt` drops has been dropped. */
  private receiptLost = false;

  constructor(private readonly options: UpdateEngineOptions) {
    this.store = new UpdateStore(options.storage);
    this.faults = { ...NO_FAULTS, ...options.faults };
    const loaded = this.store.load();
    const snapshot =
      loaded?.trustedTime ??
      (options.initialTrustedTime && { serverMs: options.initialTrustedTime.getTime(), elapsedMs: 0 });
    if (!snapshot) throw new Error('The update engine needs an authenticated server time to start from');
    this.clock = new TrustedClock(
      snapshot,
      options.monotonicMs ?? (() => performance.now()),
      this.faults.offlineDays * 24 * 3600 * 1000,
    );
    this.state = loaded ?? {
      version: 1,
      components: Object.fromEntries(options.identity.components.map((c) => [c, { activeSlot: 'A' }])),
    };
  }

  /** Factory programming: the image a component ships with, in slot A. */
  static factoryImage(storage: MeterStorage, component: string, image: Uint8Array): void {
    new UpdateStore(storage).writeSlot(component, 'A', image);
  }

  get snapshot(): UpdateState {
    return structuredClone(this.state);
  }

  /** The wall clock as the sim's owner skewed it (`--ota-clock-skew`); for display only. */
  wallClock(): Date {
    const now = this.options.wallClock?.() ?? new Date();
    return new Date(now.getTime() + this.faults.clockSkewMs);
  }

  trustedNow(): Date {
    return this.clock.now();
  }

  /**
   * Power-on: an execution caught between reboot and confirmation is verified and confirmed or rolled
   * back; one caught mid-install fails cleanly with the old slots active (their pointer never moved).
   */
  async boot(): Promise<RunOutcome | undefined> {
    const execution = this.state.execution;
    if (!execution) return undefined;
    if (execution.state === 'INSTALLING') {
      // Power was lost while the inactive slots were written: nothing was activated.
      execution.pending = [];
      return this.finish(execution, 'FAILED', 'INSTALL_WRITE_FAILED', 'power lost during install', 0);
    }
    if (execution.state === 'REBOOTING' || execution.state === 'CONFIRMING') {
      return this.confirmBoot(execution);
    }
    return undefined;
  }

  /** One poll: check in and carry out what the directive asks, as far as it can go now. */
  async runOnce(): Promise<RunOutcome> {
    const booted = await this.boot();
    if (booted) return booted;
    const first = this.options.identity.components[0]!;
    const running = this.state.components[first]!;
    const answer = await this.options.distributor.checkIn({
      installed: running.installedManifestDigest ?? 'none',
      seq: running.installedSequence ?? 0,
      slot: running.activeSlot,
      ...(this.options.identity.hardwareRevision !== undefined && {
        hardwareRevision: this.options.identity.hardwareRevision,
      }),
    });
    // The check-in came over mutual TLS from the server bootstrap named: its time is authenticated.
    if (answer.serverTime) {
      this.clock.anchor(answer.serverTime);
      this.persist();
    }
    const poll = answer.pollAfterSeconds === undefined ? {} : { pollAfterSeconds: answer.pollAfterSeconds };
    if (!answer.directive) return { state: 'IDLE', bytesFetched: 0, ...poll };

    // 1. The directive: signature, expiry, device, counter.
    const checked = this.verifiedDirective(answer.directive);
    if (!checked.ok)
      return {
        state: 'REJECTED',
        failureCode: checked.code,
        message: checked.message,
        bytesFetched: 0,
        ...poll,
      };
    const directive = checked.directive;
    this.clock.anchor(new Date(directive.issuedAt));
    this.state.lastDirectiveCounter = directive.counter;

    const previous = this.state.execution;
    if (
      previous?.executionId === directive.executionId &&
      TERMINAL_STATES.has(previous.state) &&
      previous.state !== 'FAILED'
    ) {
      // The distributor still names a finished execution: its answer to our receipt was lost, so the
      // receipt is signed again with the nonce it now expects (e2e.lost-receipt-recovered-by-next-checkin).
      previous.nonce = directive.nonce;
      this.persist();
      if (previous.state === 'SUCCEEDED') {
        await this.sendReceipt(previous, this.runningImages(previous.manifestDigest));
      }
      return {
        state: previous.state,
        ...(previous.failureCode !== undefined && {
          failureCode: previous.failureCode as FirmwareFailureCode,
        }),
        bytesFetched: 0,
        ...poll,
      };
    }
    const resumed =
      previous?.executionId === directive.executionId &&
      previous.manifestDigest === directive.manifestDigest &&
      !TERMINAL_STATES.has(previous.state);
    if (resumed) previous.nonce = directive.nonce; // a re-issued directive: its nonce goes in the receipt
    const execution: ExecutionState = resumed
      ? previous
      : {
          executionId: directive.executionId,
          manifestDigest: directive.manifestDigest,
          sequenceNumber: 0,
          nonce: directive.nonce,
          state: 'NOTIFIED',
          attempt: previous?.executionId === directive.executionId ? previous.attempt + 1 : 1,
          statusSeq: previous?.executionId === directive.executionId ? previous.statusSeq : 0,
          staged: [],
          pending: [],
        };
    if (!resumed && previous) {
      // Another execution (or another manifest) replaces this one: what it fetched is of no use.
      this.dropStaged(previous);
      if (previous.executionId !== directive.executionId) this.options.storage.remove(PART_FILE);
    }
    this.state.execution = execution;
    await this.transition(execution, 'NOTIFIED');
    return { ...(await this.carryOut(directive, execution)), ...poll };
  }

  /**
   * Under each pinned key in turn: a signature that verifies under none is DIRECTIVE_SIGNATURE_INVALID;
   * one that verifies is held to the other checks (expiry, device, counter) once.
   */
  private verifiedDirective(bytes: Uint8Array): DirectiveVerification {
    const keys = this.options.trust.directivePublicKeys;
    let result: DirectiveVerification = {
      ok: false,
      code: 'DIRECTIVE_SIGNATURE_INVALID',
      message: 'no directive key is pinned',
    };
    for (const key of keys) {
      result = verifyDirective(bytes, key, {
        deviceId: this.options.identity.deviceId,
        lastCounter: this.state.lastDirectiveCounter,
        trustedNow: this.clock.now(),
      });
      if (result.ok || result.code !== 'DIRECTIVE_SIGNATURE_INVALID') return result;
    }
    return result;
  }

  private async carryOut(directive: Directive, execution: ExecutionState): Promise<RunOutcome> {
    let fetched = 0;
    try {
      const manifest = await this.verifiedManifest(directive, execution);
      if (manifest === 'ALREADY_INSTALLED') {
        // Nothing fetched; the receipt is signed again (the last one may have been lost).
        const outcome = await this.finish(
          execution,
          'SUCCEEDED',
          'ALREADY_INSTALLED',
          'this manifest already runs',
          0,
        );
        await this.sendReceipt(execution, this.runningImages(directive.manifestDigest));
        return outcome;
      }
      const images = new Map<string, Buffer>();
      for (const component of this.componentsToInstall(manifest, directive.manifestDigest)) {
        const name = componentName(component);
        const staged = this.stagedImage(execution, name);
        if (staged) {
          images.set(name, staged);
          continue;
        }
        const result = await this.fetchComponent(directive, execution, component);
        fetched += result.fetched;
        this.options.storage.write(stagedFile(name), result.image);
        execution.staged.push({
          component: name,
          digest: sha256(result.image),
          size: result.image.length,
          version: component.version,
        });
        this.persist();
        images.set(name, result.image);
      }
      await this.transition(execution, 'VERIFIED');
      const hold = this.holdFor(directive);
      if (hold) {
        await this.transition(execution, hold);
        return { state: hold, bytesFetched: fetched };
      }
      await this.install(execution, images);
      return { ...(await this.confirmBoot(execution)), bytesFetched: fetched };
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      if (error.state === 'DOWNLOAD_PAUSED') {
        await this.transition(execution, 'DOWNLOAD_PAUSED', error.code);
        return {
          state: 'DOWNLOAD_PAUSED',
          failureCode: error.code,
          message: error.message,
          bytesFetched: fetched + downloadedIn(error),
        };
      }
      return this.finish(execution, error.state, error.code, error.message, fetched + downloadedIn(error));
    }
  }

  /** Steps 2–6 of §6.3 on the manifest: signatures, binding to the directive, then the device checks. */
  private async verifiedManifest(
    directive: Directive,
    execution: ExecutionState,
  ): Promise<FirmwareManifest | 'ALREADY_INSTALLED'> {
    const bytes = await this.options.distributor.fetchManifest(directive.executionId);
    const trust = this.options.trust;
    const verified = verifyManifestEnvelope(
      bytes,
      {
        rootPublicKeys: trust.rootPublicKeys,
        revokedKeyIds: trust.revokedKeyIds,
        requiredSignatures: trust.requiredSignatures,
      },
      this.clock.now(),
    );
    if (!verified.ok) throw new Refused('REJECTED', verified.code, verified.message);
    if (verified.digest !== directive.manifestDigest) {
      // Another release's manifest than the one the directive names (Uptane mix-and-match).
      throw new Refused('REJECTED', 'MIX_AND_MATCH', 'the manifest is not the one the directive names');
    }
    execution.sequenceNumber = verified.manifest.sequenceNumber;
    const check = checkManifestForDevice(
      verified.manifest,
      {
        vendorId: this.options.identity.vendorId,
        classId: this.options.identity.classId,
        components: this.state.components,
      },
      verified.digest,
      this.clock.now(),
    );
    if (!check.ok) {
      if (check.code === 'ALREADY_INSTALLED') return 'ALREADY_INSTALLED';
      throw new Refused('REJECTED', check.code, check.message);
    }
    return verified.manifest; // the verified in-memory copy, never re-read (THREAT.MFST.TOCTOU)
  }

  /** A staged image whose file still has the digest recorded when it was verified. */
  private stagedImage(execution: ExecutionState, component: string): Buffer | undefined {
    const entry = execution.staged.find((image) => image.component === component);
    const bytes = entry && this.options.storage.readBytes(stagedFile(component));
    if (entry && bytes && bytes.length === entry.size && sha256(bytes) === entry.digest) return bytes;
    execution.staged = execution.staged.filter((image) => image.component !== component);
    return undefined;
  }

  private dropStaged(execution: ExecutionState): void {
    for (const image of execution.staged) this.options.storage.remove(stagedFile(image.component));
    execution.staged = [];
  }

  private runningImages(manifestDigest: string): PendingImage[] {
    return Object.entries(this.state.components).flatMap(([component, c]) =>
      c.installedManifestDigest === manifestDigest && c.imageDigest && c.imageSize !== undefined
        ? [{ component, slot: c.activeSlot, digest: c.imageDigest, size: c.imageSize }]
        : [],
    );
  }

  private componentsToInstall(manifest: FirmwareManifest, manifestDigest: string): ManifestComponent[] {
    return manifest.components.filter(
      (c) => this.state.components[componentName(c)]?.installedManifestDigest !== manifestDigest,
    );
  }

  /** Download (resumable, size-capped), digest, then decode or patch to the image for the slot. */
  private async fetchComponent(
    directive: Directive,
    execution: ExecutionState,
    component: ManifestComponent,
  ): Promise<{ image: Buffer; fetched: number }> {
    const name = componentName(component);
    const slotBytes = this.options.slotBytes ?? DEFAULT_SLOT_BYTES;
    const delta = component.format === 'zstd-patch';
    if (component.size > slotBytes || (component.resultSize ?? 0) > slotBytes) {
      throw new Refused(
        'REJECTED',
        'INSUFFICIENT_SPACE',
        `component ${name} is larger than the ${slotBytes}-byte slot`,
      );
    }
    const running = this.state.components[name]!;
    if (delta) {
      // Checked before a byte is fetched: the running image must be the signed precursor.
      const current = this.store.readSlot(name, running.activeSlot);
      if (!current || sha256(current) !== component.precursorDigest!.value) {
        throw new Refused(
          'REJECTED',
          'PRECURSOR_MISMATCH',
          `component ${name}: the running image is not the delta's precursor`,
        );
      }
    }
    if (execution.download?.component !== name) {
      this.options.storage.remove(PART_FILE);
      execution.download = { component: name, offset: 0, interruptions: 0 };
    }
    await this.transition(execution, 'DOWNLOADING');
    const partPath = this.options.storage.pathOf(PART_FILE);
    const attempts = this.options.maxDownloadAttempts ?? 5;
    let fetched = 0;
    let lastPause: { reason: string; code?: FirmwareFailureCode } | undefined;
    for (let attempt = 0; execution.download.offset < component.size; attempt += 1) {
      if (attempt >= attempts) {
        const paused = new Refused('DOWNLOAD_PAUSED', lastPause?.code, lastPause?.reason ?? 'interrupted');
        throw Object.assign(paused, { fetched });
      }
      const url = await this.options.distributor.downloadUrl(directive.executionId, name, delta);
      const outcome = await downloadOnce({
        url,
        size: component.size,
        partPath,
        offset: execution.download.offset,
        onProgress: (offset) => {
          execution.download!.offset = offset;
          this.persist();
        },
        dropAtBytes: this.faults.dropAtBytes,
        slowBytesPerSecond: this.faults.slowBytesPerSecond,
        minBytesPerSecond: this.options.minBytesPerSecond ?? 100,
        lowSpeedWindowMs: this.options.lowSpeedWindowMs ?? 60_000,
        lowSpeedCheckEveryMs: this.options.lowSpeedCheckEveryMs ?? 1000,
        monotonicMs: this.options.monotonicMs ?? (() => performance.now()),
        sleep: this.options.sleep ?? sleepFor,
      });
      fetched += outcome.fetched;
      if (outcome.ok) break;
      if (!outcome.paused) {
        this.options.storage.remove(PART_FILE);
        execution.download = { component: name, offset: 0, interruptions: 0 };
        throw Object.assign(new Refused('FAILED', outcome.code, outcome.message), { fetched });
      }
      execution.download.interruptions += 1;
      lastPause = { reason: outcome.reason, code: outcome.code };
      this.persist();
      if (execution.download.interruptions > (this.options.maxInterruptions ?? 50)) {
        this.options.storage.remove(PART_FILE);
        execution.download = undefined;
        const exhausted = new Refused(
          'FAILED',
          'DOWNLOAD_EXHAUSTED',
          `component ${name}: too many interruptions`,
        );
        throw Object.assign(exhausted, { fetched });
      }
      if (outcome.code === 'DOWNLOAD_SLOW') {
        // Abort now, resume with Range at the next poll.
        throw Object.assign(new Refused('DOWNLOAD_PAUSED', 'DOWNLOAD_SLOW', outcome.reason), { fetched });
      }
    }
    if (this.faults.tamperImages) flipOneByte(partPath, component.size >> 1);
    await this.transition(execution, 'DOWNLOADED');
    await this.transition(execution, 'VERIFYING');

    // The digest covers exactly `size` bytes, hashed from disk (a resumed download's earlier bytes too).
    if ((await hashFile(partPath)) !== component.digest.value) {
      this.options.storage.remove(PART_FILE);
      execution.download = undefined;
      throw Object.assign(
        new Refused('REJECTED', 'DIGEST_MISMATCH', `component ${name}: the bytes are not the signed ones`),
        { fetched },
      );
    }
    const payload = this.options.storage.readBytes(PART_FILE)!;
    this.options.storage.remove(PART_FILE);
    execution.download = undefined;
    return { image: this.decode(component, payload, running.activeSlot, slotBytes), fetched };
  }

  private decode(component: ManifestComponent, payload: Buffer, activeSlot: Slot, slotBytes: number): Buffer {
    const name = componentName(component);
    try {
      if (component.format === 'zstd-patch') {
        const precursor = this.store.readSlot(name, activeSlot) ?? Buffer.alloc(0);
        return Buffer.from(
          applyVerifiedDelta({
            precursor,
            patch: payload,
            precursorDigest: component.precursorDigest!.value,
            resultDigest: component.resultDigest!.value,
            resultSize: component.resultSize!,
            maxResultBytes: slotBytes,
          }),
        );
      }
      const image = Buffer.from(
        decodeImage(component.format, payload, {
          maxResultBytes: Math.min(slotBytes, component.resultSize ?? slotBytes),
        }),
      );
      if (
        component.resultDigest &&
        (image.length !== component.resultSize || sha256(image) !== component.resultDigest.value)
      ) {
        throw new Refused(
          'REJECTED',
          'DIGEST_MISMATCH',
          `component ${name}: the decoded image is not the signed one`,
        );
      }
      return image;
    } catch (error) {
      if (!(error instanceof FirmwareDeltaError)) throw error;
      const code: FirmwareFailureCode =
        error.code === 'PRECURSOR_MISMATCH'
          ? 'PRECURSOR_MISMATCH'
          : error.code === 'INPUT_TOO_LARGE' || error.code === 'RESULT_TOO_LARGE'
            ? 'SIZE_EXCEEDED'
            : error.code === 'FORMAT_UNSUPPORTED'
              ? 'FORMAT_UNSUPPORTED'
              : component.format === 'zstd-patch'
                ? 'DELTA_RESULT_MISMATCH'
                : 'DIGEST_MISMATCH';
      throw new Refused('REJECTED', code, `component ${name}: ${error.message}`);
    }
  }

  private holdFor(directive: Directive): UpdateStateName | undefined {
    const now = this.clock.now().getTime();
    if (directive.actionType === 'downloadonly') return 'DOWNLOAD_ONLY_HOLD';
    if (directive.window && now < Date.parse(directive.window.startsAt)) return 'WAITING_WINDOW';
    if (directive.actionType === 'timeforced' && directive.forceAt && now < Date.parse(directive.forceAt)) {
      return 'WAITING_FORCE_TIME';
    }
    return undefined;
  }

  /**
   * Writes every image to its component's inactive slot (the slot comes from the meter's own state,
   * never from the manifest or the URL), then records them as pending in one state write: a power cut
   * before that write leaves the old slots active and the new ones unreferenced.
   */
  private async install(execution: ExecutionState, images: Map<string, Buffer>): Promise<void> {
    await this.transition(execution, 'INSTALLING');
    const pending: PendingImage[] = [];
    for (const [component, image] of images) {
      const slot = otherSlot(this.state.components[component]!.activeSlot);
      this.options.onInstallStep?.('before-slot-write');
      try {
        this.store.writeSlot(component, slot, image);
      } catch (error) {
        if (isPowerLoss(error)) throw error;
        throw new Refused('FAILED', 'INSTALL_WRITE_FAILED', `component ${component}: slot write failed`);
      }
      this.options.onInstallStep?.('after-slot-write');
      const version = execution.staged.find((staged) => staged.component === component)?.version;
      pending.push({
        component,
        slot,
        digest: sha256(image),
        size: image.length,
        ...(version !== undefined && { version }),
      });
    }
    this.options.onInstallStep?.('before-activate');
    execution.pending = pending;
    execution.rebootedAt = this.clock.now().getTime();
    await this.transition(execution, 'REBOOTING');
  }

  /**
   * The boot into the pending slots: re-verify each slot's digest and size (THREAT.IMG.REPLACE), then
   * the health check, within the confirm timeout. Confirmation switches the active slots, advances the
   * persisted sequence counter and signs the receipt; any failure leaves the old slots active.
   */
  private async confirmBoot(execution: ExecutionState): Promise<RunOutcome> {
    await this.transition(execution, 'CONFIRMING');
    for (const image of execution.pending) {
      const bytes = this.store.readSlot(image.component, image.slot);
      if (!bytes || bytes.length !== image.size || sha256(bytes) !== image.digest) {
        return this.rollBack(
          execution,
          'BOOT_VERIFY_FAILED',
          `component ${image.component}: slot ${image.slot} is not the installed image`,
        );
      }
    }
    const timeout = this.options.confirmTimeoutMs ?? 600_000;
    const random = this.options.random ?? Math.random;
    if (
      random() < this.faults.bootFailRate ||
      this.clock.now().getTime() - (execution.rebootedAt ?? 0) > timeout
    ) {
      return this.rollBack(execution, 'BOOT_CONFIRM_TIMEOUT', 'the new image did not confirm in time');
    }
    if (random() < this.faults.failRate) {
      return this.rollBack(execution, 'HEALTH_CHECK_FAILED', 'the health check failed on the new image');
    }
    for (const image of execution.pending) {
      this.state.components[image.component] = {
        activeSlot: image.slot,
        installedSequence: execution.sequenceNumber,
        installedManifestDigest: execution.manifestDigest,
        imageDigest: image.digest,
        imageSize: image.size,
        ...(image.version !== undefined && { version: image.version }),
      };
    }
    const booted = execution.pending;
    execution.pending = [];
    const outcome = await this.finish(execution, 'SUCCEEDED', undefined, 'confirmed', 0);
    await this.sendReceipt(execution, booted);
    return outcome;
  }

  private async sendReceipt(execution: ExecutionState, booted: readonly PendingImage[]): Promise<void> {
    const receipt = signReceipt(
      {
        deviceId: this.options.identity.deviceId,
        executionId: execution.executionId,
        manifestDigest: execution.manifestDigest,
        sequenceNumber: execution.sequenceNumber,
        bootedSlot: booted[0]?.slot ?? 'A',
        bootedImageDigests: Object.fromEntries(booted.map((image) => [image.component, image.digest])),
        confirmedAt: this.clock.now().toISOString(),
        nonce: execution.nonce,
      },
      this.options.trust.operationalPrivateKey,
    );
    if (this.faults.loseFirstReceipt && !this.receiptLost) {
      this.receiptLost = true;
      return; // lost on the way (--ota-lose-receipt-meters): the distributor never heard it
    }
    try {
      await this.options.distributor.postReceipt(execution.executionId, receipt);
    } catch (error) {
      // Signed again when the distributor names this execution at the next check-in.
      if (error instanceof PowerLoss) throw error;
    }
  }

  private rollBack(
    execution: ExecutionState,
    code: FirmwareFailureCode,
    message: string,
  ): Promise<RunOutcome> {
    // The active slot pointers never moved: rolling back is forgetting the pending images.
    execution.pending = [];
    return this.finish(execution, 'ROLLED_BACK', code, message, 0);
  }

  private async finish(
    execution: ExecutionState,
    state: UpdateStateName,
    code: FirmwareFailureCode | undefined,
    message: string,
    bytesFetched: number,
  ): Promise<RunOutcome> {
    if (TERMINAL_STATES.has(state)) this.dropStaged(execution);
    await this.transition(execution, state, code);
    return { state, ...(code !== undefined && { failureCode: code }), message, bytesFetched };
  }

  /** Persists the new state, then reports it. */
  private async transition(
    execution: ExecutionState,
    state: UpdateStateName,
    code?: FirmwareFailureCode,
  ): Promise<void> {
    execution.state = state;
    execution.failureCode = code;
    execution.statusSeq += 1;
    this.persist();
    try {
      await this.options.distributor.postStatus(execution.executionId, {
        state,
        attempt: execution.attempt,
        seq: execution.statusSeq,
        ...(code !== undefined && { failureCode: code }),
      });
    } catch (error) {
      // A lost report is not the update's failure: the next report carries the state it reached.
      if (error instanceof PowerLoss) throw error;
    }
  }

  private persist(): void {
    this.state.trustedTime = this.clock.snapshot();
    this.store.save(this.state);
  }
}

/** Thrown by a test's onInstallStep to cut power: nothing after it runs. */
export class PowerLoss extends Error {
  constructor(readonly step: InstallStep) {
    super(`power lost at ${step}`);
    this.name = 'PowerLoss';
  }
}
const isPowerLoss = (error: unknown): error is PowerLoss => error instanceof PowerLoss;

/** The tamper fault: one bit of the downloaded bytes changed in place, as an on-path attacker would. */
function flipOneByte(path: string, at: number): void {
  const fd = openSync(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0]! ^= 0x01;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}
const downloadedIn = (error: Refused): number => (error as Refused & { fetched?: number }).fetched ?? 0;
