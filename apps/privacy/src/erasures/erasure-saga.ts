import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { AuditEntry } from '@meterkeep/audit';
import {
  type AuditEvent,
  PRIVACY_CONFIRMATIONS,
  PRIVACY_ERASURE_REQUESTS,
  PRIVACY_ERASURES,
  PRIVACY_OCCUPANCIES,
} from '@meterkeep/contracts';
import type { Logger } from '@meterkeep/observability';
import { countErasure } from '../core/erasure-metrics';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import type { KeyObject } from 'node:crypto';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import type { ErasureRow, Executor } from '../core/database';
import { DataKeyVault } from '../data-keys/data-key-vault';
import { DataKeysRepository } from '../data-keys/data-keys.repository';
import { keyDestroyedEvent } from '../data-keys/key-destroyed.event';
import { ExportsPurge } from '../exports/exports-purge';
import { BackupResiduals } from '../key-epochs/backup-residuals';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { ReleaseKeyShredder } from '../release/release-key-shredder';
import { ReleaseRepository } from '../release/release.repository';
import {
  type SignedErasureCertificate,
  type UnsignedErasureCertificate,
  certificateDigest,
  loadCertificateKey,
  signCertificate,
} from './erasure-certificate';
import {
  type DestroyedKey,
  type ErasureScope,
  type RequestedScope,
  type StoredRetention,
  missingConfirmers,
  retryDelayMs,
} from './erasure-scope';
import { ErasuresRepository } from './erasures.repository';
import { ReadingsInventory } from './readings-inventory';

export const SAGA_ACTOR = 'privacy:erasure-saga';
/** Missing confirmations this long after the keys went are an alarm (spec privacy.md §4.5). */
const ALARM_AFTER_MS = 60_000;
/** How far a record's timestamp (its producer's clock) may lag the database's clock at key creation. */
const PRODUCER_CLOCK_MARGIN_MS = 3_600_000;

const commitment = (sha256: Buffer | null) =>
  sha256 ? `sha256:${sha256.toString('hex')}` : 'sha256:unknown';

/**
 * Runs erasure sagas: REQUESTED → SCOPED → KEYS_DESTROYED → PURGING → CONFIRMING → CERTIFIED, one
 * committed transaction per step (the row locked, skipped by another replica), so a crash resumes at the
 * last committed step; sagas not finished are picked up at start and on every tick. Missing
 * confirmations are asked for again with backoff and never assumed; a `failed` confirmation, or no
 * certificate key, ends in FAILED, from which an operator retries.
 */
@Injectable()
export class ErasureSaga implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly alarmed = new Set<string>();
  private stopping = false;
  private certificateKey: KeyObject | undefined;

  constructor(
    private readonly erasures: ErasuresRepository,
    private readonly keys: DataKeysRepository,
    private readonly vault: DataKeyVault,
    private readonly residuals: BackupResiduals,
    private readonly inventory: ReadingsInventory,
    private readonly shredder: ReleaseKeyShredder,
    private readonly release: ReleaseRepository,
    private readonly exportsPurge: ExportsPurge,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    @Inject(CONFIG) private readonly config: PrivacyConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const path = this.config.PRIVACY_CERTIFICATE_KEY_FILE;
    if (path !== undefined) this.certificateKey = loadCertificateKey(path);
    else this.logger.warn('PRIVACY_CERTIFICATE_KEY_FILE is not set: erasures cannot be certified');
    const every = Math.max(100, Math.floor(this.config.PRIVACY_ERASURE_RETRY_MS / 2));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  /** Advances every saga that is due (resumes those a crash or restart left behind). */
  async tick(): Promise<void> {
    if (this.stopping) return;
    try {
      for (const id of await this.erasures.due(new Date())) void this.kick(id);
    } catch (error) {
      this.logger.warn({ err: error }, 'erasure saga: could not list due sagas');
    }
  }

  /** Runs the saga as far as it goes now; a kick while it runs makes it look again once done. */
  kick(erasureId: string): Promise<void> {
    const current = this.running.get(erasureId);
    if (current) {
      this.again.add(erasureId);
      return current;
    }
    const run = (async () => {
      do {
        this.again.delete(erasureId);
        await this.advance(erasureId);
      } while (this.again.has(erasureId) && !this.stopping);
    })().finally(() => this.running.delete(erasureId));
    this.running.set(erasureId, run);
    return run;
  }

  /** Steps until the saga waits (for confirmations), ends, or another replica holds it. */
  private async advance(erasureId: string): Promise<void> {
    for (let steps = 0; steps < 10 && !this.stopping; steps++) {
      let progressed: boolean;
      try {
        progressed = await this.step(erasureId);
      } catch (error) {
        this.logger.error({ err: error, erasureId }, 'erasure saga step failed; retried');
        await this.transactions.run((trx) =>
          this.erasures.update(trx, erasureId, {
            next_attempt_at: new Date(Date.now() + this.config.PRIVACY_ERASURE_RETRY_MS),
            last_error: error instanceof Error ? error.message.slice(0, 500) : String(error),
          }),
        );
        return;
      }
      if (!progressed) return;
    }
  }

  /** One step in one transaction; true when the state moved on. */
  private async step(erasureId: string): Promise<boolean> {
    // Certifying reads Kafka first (outside any transaction), then commits.
    const peek = await this.erasures.database
      .selectFrom('erasures')
      .selectAll()
      .where('erasure_id', '=', erasureId)
      .executeTakeFirst();
    if (!peek) return false;
    if (peek.state === 'CONFIRMING') return this.confirmOrCertify(peek);
    return this.transactions.run(async (trx) => {
      const row = await this.erasures.lockForStep(trx, erasureId);
      if (!row) return false;
      switch (row.state) {
        case 'REQUESTED':
          await this.scope(trx, row);
          return true;
        case 'SCOPED':
          await this.destroyKeys(trx, row);
          return true;
        case 'KEYS_DESTROYED':
          await this.requestPurge(trx, row, 1);
          return true;
        case 'PURGING':
          await this.purgeOwn(trx, row);
          return true;
        case 'CONFIRMING':
        case 'CERTIFIED':
        case 'FAILED':
          return false;
      }
    });
  }

  private async appendAudit(
    trx: Executor,
    row: ErasureRow,
    entries: AuditEntry[],
  ): Promise<{ audit_records: string; chain_head_before?: string }> {
    const appended = await this.audit.append(trx, row.tenant_id, entries);
    const records = [...(row.audit_records as AuditEvent[]), ...appended];
    const first = records[0];
    return {
      audit_records: JSON.stringify(records),
      ...(row.chain_head_before === null &&
        first && {
          chain_head_before: JSON.stringify({ sequence: first.sequence - 1, digest: first.previousDigest }),
        }),
    };
  }

  /** REQUESTED → SCOPED: the occupancies asked for, their readings keys, a retention key per obligation. */
  private async scope(trx: Executor, row: ErasureRow): Promise<void> {
    const requested = row.scope as RequestedScope;
    const retentions = row.retentions as StoredRetention[];
    const occupancies = (await this.erasures.subjectOccupancies(trx, row.tenant_id, row.subject_ref)).filter(
      (o) => requested.occupancyIds.includes(o.occupancy_id),
    );
    const scope: ErasureScope = { occupancies: [], retained: [] };
    for (const occupancy of occupancies) {
      scope.occupancies.push({
        occupancyId: occupancy.occupancy_id,
        meterId: occupancy.meter_id,
        validFrom: occupancy.valid_from.toISOString(),
        validTo: occupancy.valid_to?.toISOString() ?? null,
        readingsKeyId: occupancy.key_id,
      });
      for (const retention of retentions) {
        const key = await this.vault.createRetentionKey(trx, {
          tenantId: row.tenant_id,
          meterId: occupancy.meter_id,
          occupancyId: occupancy.occupancy_id,
          purpose: retention.purpose,
          retainUntil: new Date(retention.retainUntil),
        });
        scope.retained.push({ occupancyId: occupancy.occupancy_id, ...retention, keyId: key.key_id });
      }
    }
    const audit = await this.appendAudit(trx, row, [
      {
        action: 'privacy.erasure-scoped',
        actor: SAGA_ACTOR,
        subject: row.erasure_id,
        outcome: 'allowed',
        detail: { occupancies: scope.occupancies.length, retentionKeys: scope.retained.length },
      },
    ]);
    await this.erasures.update(trx, row.erasure_id, {
      state: 'SCOPED',
      scope: JSON.stringify(scope),
      ...audit,
    });
  }

  /**
   * SCOPED → KEYS_DESTROYED: every readings key in scope and every release key of its occupancies (what
   * the gate released of them), in this one transaction under the occupancies' locks (a release pass
   * under way is waited for, and the next finds the readings key gone), announced and audited.
   */
  private async destroyKeys(trx: Executor, row: ErasureRow): Promise<void> {
    const scope = row.scope as ErasureScope;
    const now = new Date();
    const destroyed: DestroyedKey[] = [];
    const entries: AuditEntry[] = [];
    for (const occupancy of scope.occupancies) {
      await this.erasures.lockOccupancy(trx, occupancy.occupancyId);
      const releaseKeys = await this.shredder.destroy(trx, occupancy.occupancyId, now);
      countErasure('release-key', releaseKeys.length);
      for (const released of releaseKeys) {
        entries.push({
          action: 'privacy.release-key-destroyed',
          actor: SAGA_ACTOR,
          subject: released.key_id,
          outcome: 'allowed',
          detail: {
            occupancyId: occupancy.occupancyId,
            recipient: released.recipient,
            purpose: released.purpose,
            erasureId: row.erasure_id,
          },
        });
        destroyed.push({
          keyId: released.key_id,
          kind: 'release',
          occupancyId: occupancy.occupancyId,
          meterId: occupancy.meterId,
          destroyedAt: released.destroyed_at!.toISOString(),
          wrappedKeyCommitment: commitment(released.wrapped_key_sha256),
          kekEpoch: released.kek_epoch,
        });
      }
      let key = await this.keys.lock(trx, row.tenant_id, occupancy.readingsKeyId);
      if (!key) throw new Error(`the readings key ${occupancy.readingsKeyId} is missing`);
      if (key.destroyed_at === null) {
        key = await this.keys.destroy(trx, key.key_id, now);
        await this.outbox.enqueue(trx, PRIVACY_OCCUPANCIES, [keyDestroyedEvent(key, now)]);
        entries.push({
          action: 'privacy.data-key-destroyed',
          actor: SAGA_ACTOR,
          subject: key.key_id,
          outcome: 'allowed',
          detail: { meterId: key.meter_id, occupancyId: occupancy.occupancyId, erasureId: row.erasure_id },
        });
        countErasure('data-key');
      }
      destroyed.push({
        keyId: key.key_id,
        kind: 'readings',
        occupancyId: occupancy.occupancyId,
        meterId: occupancy.meterId,
        destroyedAt: key.destroyed_at!.toISOString(),
        wrappedKeyCommitment: commitment(key.wrapped_key_sha256),
        kekEpoch: key.kek_epoch,
      });
    }
    entries.push({
      action: 'privacy.erasure-keys-destroyed',
      actor: SAGA_ACTOR,
      subject: row.erasure_id,
      outcome: 'allowed',
      detail: { keys: destroyed.length },
    });
    const audit = await this.appendAudit(trx, row, entries);
    await this.erasures.update(trx, row.erasure_id, {
      state: 'KEYS_DESTROYED',
      keys_destroyed: JSON.stringify(destroyed),
      keys_destroyed_at: now,
      ...audit,
    });
  }

  /** Fans the purge out to every service (privacy.erasure-requests.v1); again, attempt n, while one is missing. */
  private async requestPurge(trx: Executor, row: ErasureRow, attempt: number): Promise<void> {
    const scope = row.scope as ErasureScope;
    const destroyed = (row.keys_destroyed as DestroyedKey[] | null) ?? [];
    const now = new Date();
    await this.outbox.enqueue(trx, PRIVACY_ERASURE_REQUESTS, [
      {
        eventId: randomUUID(),
        tenantId: row.tenant_id,
        occurredAt: now.toISOString(),
        requestId: row.erasure_id,
        attempt,
        meterIds: [...new Set(scope.occupancies.map((o) => o.meterId))],
        occupancyIds: scope.occupancies.map((o) => o.occupancyId),
        keyIds: destroyed.map((k) => k.keyId),
      },
    ]);
    const next = new Date(now.getTime() + retryDelayMs(this.config.PRIVACY_ERASURE_RETRY_MS, attempt));
    if (attempt === 1) {
      const audit = await this.appendAudit(trx, row, [
        {
          action: 'privacy.erasure-purge-requested',
          actor: SAGA_ACTOR,
          subject: row.erasure_id,
          outcome: 'allowed',
          detail: { services: this.config.PRIVACY_ERASURE_CONFIRMERS.join(',') },
        },
      ]);
      await this.erasures.update(trx, row.erasure_id, {
        state: 'PURGING',
        fanout_attempts: attempt,
        next_attempt_at: next,
        ...audit,
      });
    } else {
      await this.erasures.update(trx, row.erasure_id, { fanout_attempts: attempt, next_attempt_at: next });
    }
  }

  /**
   * PURGING → CONFIRMING: privacy's own part. It holds nothing of the subject in the clear beyond what
   * accountability needs (occupancy periods, the consent ledger, the key rows with their commitments),
   * which the certificate lists as retained; it confirms on privacy.confirmations.v1 like every service.
   */
  private async purgeOwn(trx: Executor, row: ErasureRow): Promise<void> {
    const now = new Date();
    const scope = row.scope as ErasureScope;
    // The release gate's staged readings hold values in the clear: they go.
    const staged = await this.release.deleteStagedReadings(
      trx,
      scope.occupancies.map((o) => o.occupancyId),
    );
    // Subject access archives (sealed, but the subject's data): deleted, their keys forgotten.
    const exports = await this.exportsPurge.purge(trx, row.tenant_id, row.subject_ref, now);
    await this.outbox.enqueue(trx, PRIVACY_CONFIRMATIONS, [
      {
        eventId: randomUUID(),
        tenantId: row.tenant_id,
        occurredAt: now.toISOString(),
        requestId: row.erasure_id,
        service: 'privacy',
        instance: this.config.KAFKA_CLIENT_ID,
        outcome: 'completed',
        detail: `keys destroyed; ${staged} staged reading(s) deleted; ${exports} export(s) deleted or stopped; occupancies, consents, released windows and key commitments kept for accountability`,
      },
    ]);
    const audit = await this.appendAudit(trx, row, [
      {
        action: 'privacy.erasure-purged',
        actor: SAGA_ACTOR,
        subject: row.erasure_id,
        outcome: 'allowed',
        detail: { service: 'privacy', stagedReadingsDeleted: staged, exportsPurged: exports },
      },
    ]);
    await this.erasures.update(trx, row.erasure_id, { state: 'CONFIRMING', ...audit });
  }

  /** CONFIRMING: FAILED on a failed confirmation; certified once every required service answered. */
  private async confirmOrCertify(peek: ErasureRow): Promise<boolean> {
    const confirmations = await this.erasures.confirmations(this.erasures.database, peek.erasure_id);
    const failed = confirmations.find((c) => c.outcome === 'failed');
    const missing = missingConfirmers(this.config.PRIVACY_ERASURE_CONFIRMERS, confirmations);
    if (failed || (missing.length === 0 && !this.certificateKey)) {
      const reason = failed
        ? `${failed.service} (${failed.instance}) failed: ${failed.detail ?? 'no detail'}`
        : 'CERTIFICATE_KEY_MISSING: PRIVACY_CERTIFICATE_KEY_FILE is not set';
      return this.fail(peek.erasure_id, reason);
    }
    if (missing.length > 0) {
      const now = Date.now();
      if (peek.keys_destroyed_at && now - peek.keys_destroyed_at.getTime() > ALARM_AFTER_MS) {
        if (!this.alarmed.has(peek.erasure_id)) {
          this.alarmed.add(peek.erasure_id);
          this.logger.error(
            { erasureId: peek.erasure_id, missing },
            'erasure: confirmations missing for over 60 s; still asking',
          );
        }
      }
      if (peek.next_attempt_at === null || peek.next_attempt_at.getTime() <= now) {
        await this.transactions.run(async (trx) => {
          const row = await this.erasures.lockForStep(trx, peek.erasure_id);
          if (row?.state !== 'CONFIRMING') return;
          this.logger.info(
            { erasureId: row.erasure_id, missing, attempt: row.fanout_attempts + 1 },
            'erasure: asking again for missing confirmations',
          );
          await this.requestPurge(trx, row, row.fanout_attempts + 1);
        });
      }
      return false;
    }
    const certificate = await this.buildCertificate(peek, confirmations);
    const digest = certificateDigest(certificate);
    return this.transactions.run(async (trx) => {
      const row = await this.erasures.lockForStep(trx, peek.erasure_id);
      if (row?.state !== 'CONFIRMING') return false;
      await this.erasures.insertCertificate(trx, {
        certificateId: certificate.certificateId,
        erasureId: row.erasure_id,
        tenantId: row.tenant_id,
        document: certificate,
        digest,
        issuedAt: new Date(certificate.certifiedAt),
      });
      await this.outbox.enqueue(trx, PRIVACY_ERASURES, [
        {
          eventId: randomUUID(),
          tenantId: row.tenant_id,
          occurredAt: certificate.certifiedAt,
          certificateId: certificate.certificateId,
          requestId: row.erasure_id,
          digest,
          issuedAt: certificate.certifiedAt,
        },
      ]);
      // After the segment the certificate holds: the issuance names the digest and the signing key.
      const audit = await this.appendAudit(trx, row, [
        {
          action: 'privacy.erasure-certified',
          actor: SAGA_ACTOR,
          subject: row.erasure_id,
          outcome: 'allowed',
          detail: {
            certificateId: certificate.certificateId,
            digest,
            certificateKeyId: certificate.signature.keyId,
          },
        },
      ]);
      await this.erasures.update(trx, row.erasure_id, {
        state: 'CERTIFIED',
        certified_at: new Date(certificate.certifiedAt),
        next_attempt_at: null,
        last_error: null,
        ...audit,
      });
      countErasure('certified');
      return true;
    });
  }

  private fail(erasureId: string, reason: string): Promise<boolean> {
    return this.transactions.run(async (trx) => {
      const row = await this.erasures.lockForStep(trx, erasureId);
      if (row?.state !== 'CONFIRMING') return false;
      const audit = await this.appendAudit(trx, row, [
        {
          action: 'privacy.erasure-failed',
          actor: SAGA_ACTOR,
          subject: erasureId,
          outcome: 'refused',
          detail: { failedIn: 'CONFIRMING', reason: reason.slice(0, 200) },
        },
      ]);
      await this.erasures.update(trx, erasureId, {
        state: 'FAILED',
        failed_in: 'CONFIRMING',
        last_error: reason.slice(0, 500),
        next_attempt_at: null,
        ...audit,
      });
      this.logger.error({ erasureId, reason }, 'erasure failed; an operator may retry it');
      return true;
    });
  }

  private async buildCertificate(
    row: ErasureRow,
    confirmations: Awaited<ReturnType<ErasuresRepository['confirmations']>>,
  ): Promise<SignedErasureCertificate> {
    const scope = row.scope as ErasureScope;
    const destroyed = row.keys_destroyed as DestroyedKey[];
    const destroyedIds = new Set(destroyed.map((k) => k.keyId));
    const occupancyIds = scope.occupancies.map((o) => o.occupancyId);
    const db = this.erasures.database;
    const kafka = [];
    let recordsChecked = 0;
    let decryptFailures = 0;
    let liveKeysTried = 0;
    for (const meterId of [...new Set(scope.occupancies.map((o) => o.meterId))]) {
      const live = await this.keys.liveKeysOfMeter(db, row.tenant_id, meterId);
      const liveKeys = await Promise.all(
        live.map(async (key) => ({ keyId: key.key_id, key: await this.vault.open(key) })),
      );
      liveKeysTried += liveKeys.length;
      // No record is sealed under a key before the key exists: the scan starts at the meter's oldest
      // erased key (less a margin for the producers' clocks, which stamp the records), not at the
      // partition's start, so its cost follows the erased period, not the fleet's retained history.
      const made = await this.keys.earliestCreated(
        db,
        row.tenant_id,
        meterId,
        destroyed.filter((k) => k.meterId === meterId).map((k) => k.keyId),
      );
      const sinceMs = made ? made.getTime() - PRODUCER_CLOCK_MARGIN_MS : undefined;
      const check = await this.inventory.check(row.tenant_id, meterId, destroyedIds, liveKeys, sinceMs);
      if (check.openedByLiveKey.length > 0)
        throw new Error(`a live key opens ${check.openedByLiveKey.length} erased record(s) of ${meterId}`);
      kafka.push(check.inventory);
      recordsChecked += check.inventory.recordsUnderDestroyedKeys;
      decryptFailures += check.decryptFailures;
    }
    const epochs = [...new Set(destroyed.map((k) => k.kekEpoch))].sort((a, b) => a - b);
    const backups = await Promise.all(epochs.map((epoch) => this.residuals.forEpoch(epoch)));
    const records = row.audit_records as AuditEvent[];
    const last = records[records.length - 1]!;
    const now = new Date();
    const unsigned: UnsignedErasureCertificate = {
      certificateVersion: 1,
      certificateId: `ec-${randomUUID()}`,
      tenantId: row.tenant_id,
      requestId: row.erasure_id,
      subjectRef: row.subject_ref,
      requestedAt: row.requested_at.toISOString(),
      keysDestroyedAt: row.keys_destroyed_at!.toISOString(),
      certifiedAt: now.toISOString(),
      method: 'cryptographic erase of data keys (NIST SP 800-88 purge) + deletion of clear copies',
      scope: {
        occupancies: scope.occupancies.map(({ occupancyId, meterId, validFrom, validTo }) => ({
          occupancyId,
          meterId,
          validFrom,
          validTo,
        })),
      },
      keysDestroyed: destroyed,
      dataInventory: {
        kafka,
        s3: (await this.exportsPurge.deleted(db, row.tenant_id, row.subject_ref)).map((o) => ({
          ...o,
          versionId: null,
        })),
        postgres: [
          {
            service: 'privacy',
            table: 'occupancies',
            rows: await this.erasures.countRows(db, 'occupancies', occupancyIds),
            action: 'retained-for-accountability (periods and the subject reference)',
          },
          {
            service: 'privacy',
            table: 'consents',
            rows: await this.erasures.countRows(db, 'consents', occupancyIds),
            action: 'retained-for-accountability',
          },
          {
            service: 'privacy',
            table: 'data_keys',
            rows: await this.erasures.countRows(db, 'data_keys', occupancyIds),
            action: 'wrapped readings keys wiped; commitments kept',
          },
          {
            service: 'privacy',
            table: 'release_keys',
            rows: await this.erasures.countRows(db, 'release_keys', occupancyIds),
            action: 'wrapped release keys wiped; commitments kept',
          },
          {
            service: 'privacy',
            table: 'released_windows',
            rows: await this.erasures.countRows(db, 'released_windows', occupancyIds),
            action: 'retained-for-accountability (which windows went to whom; no values)',
          },
          {
            service: 'privacy',
            table: 'release_readings',
            rows: await this.erasures.countRows(db, 'release_readings', occupancyIds),
            action: 'staged readings deleted',
          },
        ],
      },
      confirmations: confirmations.map((c) => ({
        service: c.service,
        instance: c.instance,
        outcome: c.outcome,
        at: c.confirmed_at.toISOString(),
        eventId: c.event_id,
      })),
      retainedUnderException: scope.retained,
      residualCopies: [
        ...backups.map((b) => ({
          where: b.where,
          what: b.what,
          kekEpoch: b.kekEpoch,
          unrecoverableAfter: b.unrecoverableAfter,
          estimated: b.estimated,
        })),
        {
          where: 'telemetry-ingest key cache (a replica that missed the key-destroyed event)',
          what: 'plain data key',
          maxLifetimeSeconds: this.config.PRIVACY_INGEST_KEY_CACHE_TTL_S,
        },
      ],
      verification: { recordsChecked, decryptFailures, liveKeysTried, vaultAnswer: 'KEY_DESTROYED' },
      audit: {
        chainHeadBefore: row.chain_head_before as { sequence: number; digest: string },
        chainHeadAfter: { sequence: last.sequence, digest: last.digest },
        sequences: records.map((r) => r.sequence),
        records,
      },
    };
    return signCertificate(unsigned, this.certificateKey!);
  }
}
