import { type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { CONFIG, LOGGER } from '@meterkeep/service-runtime';
import { ObjectStore } from '@meterkeep/storage';
import { AuditLog } from '../audit/audit-log';
import type { PrivacyConfig } from '../config';
import { ConsentPolicies } from '../consents/consent-policies';
import { policyRef } from '../consents/policy';
import type { ExportRow } from '../core/database';
import { loadCertificateKey } from '../erasures/erasure-certificate';
import { Transactions } from '../outbox/transactions';
import { RetentionSchedulesRepository } from '../retention/retention-schedules.repository';
import {
  type ArchiveFile,
  MANIFEST_FILE,
  sealArchive,
  sha256Hex,
  signManifest,
  tarArchive,
  toCsv,
} from './export-archive';
import { ExportsRepository, LEASE_MS } from './exports.repository';
import { ArchiveKeys } from './archive-keys';
import { processingInformation } from './processing-information';
import { releaseEntries } from './release-entries';
import { SubjectReadings } from './subject-readings';

export const EXPORT_ACTOR = 'privacy:export-job';
export const GENERATOR = 'meterkeep-privacy/export-v1';
/** After this many attempts that crashed or failed for a passing reason, the export is FAILED. */
const MAX_ATTEMPTS = 5;

const json = (value: unknown) => Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Builds subject access exports and deletes them when their link lapses. Every replica ticks; an export
 * is claimed with FOR UPDATE SKIP LOCKED under a lease (renewed while it builds), so one replica builds
 * it, and a crashed replica's export is taken over once its lease lapses (built again from the start:
 * nothing partial reaches S3 under its final key before READY). Lapsed READY exports are claimed the
 * same way: the S3 object deleted, the one-time key forgotten, the expiry audited.
 *
 * Encryption: envelope, not SSE-C. The archive is sealed (AES-256-GCM, export id as AAD) under a key
 * made for it alone, before upload; S3 only ever holds ciphertext, on any S3 API server (S3Proxy and
 * MinIO without TLS do not take SSE-C), and forgetting the key at expiry shreds any copy the delete
 * misses (versioning, replicas, backups). The key lives wrapped under a KEK epoch on the export row
 * (ArchiveKeys) and is handed to admins with the link.
 */
@Injectable()
export class ExportJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly owner = `export-${randomUUID()}`;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopping = false;
  private bucketReady = false;
  private certificateKey: KeyObject | undefined;

  constructor(
    private readonly exports: ExportsRepository,
    private readonly readings: SubjectReadings,
    private readonly policies: ConsentPolicies,
    private readonly schedules: RetentionSchedulesRepository,
    private readonly store: ObjectStore,
    private readonly audit: AuditLog,
    private readonly transactions: Transactions,
    private readonly archiveKeys: ArchiveKeys,
    @Inject(CONFIG) private readonly config: PrivacyConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const path = this.config.PRIVACY_CERTIFICATE_KEY_FILE;
    if (path !== undefined) this.certificateKey = loadCertificateKey(path);
    this.timer = setInterval(() => void this.tick(), this.config.PRIVACY_EXPORT_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
  }

  /** One pass: builds what is claimable, then deletes what lapsed. Never two passes at once per replica. */
  tick(now: () => Date = () => new Date()): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.ticking ??= (async () => {
      try {
        if (!(await this.exports.hasWork(now()))) return;
        for (
          let row = await this.exports.claim(this.owner, now());
          row;
          row = await this.exports.claim(this.owner, now())
        ) {
          await this.build(row);
          if (this.stopping) break;
        }
        await this.expire(now());
      } catch (error) {
        this.logger.warn({ err: error }, 'export job: pass failed');
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private async build(row: ExportRow): Promise<void> {
    const renewal = setInterval(() => {
      void this.exports.renew(row.export_id, this.owner, new Date()).catch(() => undefined);
    }, LEASE_MS / 3);
    try {
      if (!this.certificateKey) {
        await this.fail(row, 'CERTIFICATE_KEY_MISSING: PRIVACY_CERTIFICATE_KEY_FILE is not set');
        return;
      }
      const archive = await this.archive(row, this.certificateKey);
      const key = randomBytes(32);
      const sealed = sealArchive(archive.tar, key, row.export_id);
      // One object per attempt: a replica that lost its lease deletes its own, never the one that won.
      const objectKey = `${row.tenant_id}/${row.export_id}-${row.attempts}.mkx`;
      if (!this.bucketReady) {
        await this.store.ensureBucket(this.config.PRIVACY_EXPORT_BUCKET);
        this.bucketReady = true;
      }
      await this.store.put(this.config.PRIVACY_EXPORT_BUCKET, objectKey, sealed, {
        contentType: 'application/octet-stream',
        contentLength: sealed.length,
      });
      const readyAt = new Date();
      const expiresAt = new Date(readyAt.getTime() + row.link_ttl_s * 1000);
      const summary = { ...archive.summary, archiveBytes: sealed.length, archiveSha256: sha256Hex(sealed) };
      const finished = await this.transactions.run(async (trx) => {
        if (!(await this.exports.held(trx, row.export_id, this.owner))) return false;
        const wrapped = await this.archiveKeys.wrap(trx, row.tenant_id, row.export_id, key);
        await this.exports.ready(trx, row.export_id, {
          objectKey,
          archiveSha256: summary.archiveSha256,
          archiveBytes: sealed.length,
          wrappedKey: wrapped.wrappedKey,
          kekEpoch: wrapped.kekEpoch,
          summary,
          readyAt,
          expiresAt,
        });
        await this.audit.append(trx, row.tenant_id, [
          {
            action: 'privacy.export-ready',
            actor: EXPORT_ACTOR,
            subject: row.export_id,
            outcome: 'allowed',
            detail: {
              bucket: this.config.PRIVACY_EXPORT_BUCKET,
              objectKey,
              archiveSha256: summary.archiveSha256,
              manifestSha256: archive.manifestSha256,
              readings: summary.readings,
              expiresAt: expiresAt.toISOString(),
            },
          },
        ]);
        return true;
      });
      key.fill(0);
      // Lost the lease meanwhile (another replica took over, or an erasure stopped it): its object goes.
      if (!finished) {
        this.logger.warn({ exportId: row.export_id }, 'export job: lease lost before READY');
        await this.store.delete(this.config.PRIVACY_EXPORT_BUCKET, objectKey);
      }
    } catch (error) {
      this.logger.warn({ err: error, exportId: row.export_id }, 'export job: build failed');
      const reason = `BUILD_FAILED: ${(error as Error).message}`.slice(0, 500);
      if (row.attempts >= MAX_ATTEMPTS) await this.fail(row, reason);
      else await this.exports.release(row.export_id, this.owner, reason);
    } finally {
      clearInterval(renewal);
    }
  }

  private async fail(row: ExportRow, reason: string): Promise<void> {
    await this.transactions.run(async (trx) => {
      if (!(await this.exports.held(trx, row.export_id, this.owner))) return;
      await this.exports.failed(trx, row.export_id, reason);
      await this.audit.append(trx, row.tenant_id, [
        {
          action: 'privacy.export-failed',
          actor: EXPORT_ACTOR,
          subject: row.export_id,
          outcome: 'refused',
          detail: { reason: reason.split(':')[0]! },
        },
      ]);
    });
  }

  /** The archive's files, their signed manifest, and the counts the export reports. */
  private async archive(row: ExportRow, certificateKey: KeyObject) {
    const wanted = new Set(row.occupancy_ids);
    const occupancies = (
      await this.exports.subjectOccupancies(this.exports.database, row.tenant_id, row.subject_ref)
    ).filter((o) => wanted.has(o.occupancy_id));
    const ids = occupancies.map((o) => o.occupancy_id);
    const [consents, ownReleases, recalls, recalledFromOthers, schedules, read] = await Promise.all([
      this.exports.consents(row.tenant_id, ids),
      this.exports.releases(ids),
      this.exports.recallsOf(ids),
      this.exports.recalledFromOthers(row.tenant_id, occupancies),
      this.schedules.list(row.tenant_id),
      this.readings.read(row.tenant_id, occupancies),
    ]);
    const releases = releaseEntries(occupancies, ownReleases, recalls, recalledFromOthers);
    const policy = await this.policies.forTenant(row.tenant_id);
    const period = (o: (typeof occupancies)[number]) => ({
      occupancyId: o.occupancy_id,
      meterId: o.meter_id,
      validFrom: o.valid_from.toISOString(),
      validTo: iso(o.valid_to),
    });
    const readingsJson = read.perOccupancy.map(({ occupancy, readings }) => ({
      ...period(occupancy),
      readings,
    }));
    const csvRows = read.perOccupancy.flatMap(({ occupancy, readings }) =>
      readings.map((r) => [
        occupancy.occupancy_id,
        occupancy.meter_id,
        r.obis,
        r.intervalStart,
        r.intervalMinutes,
        r.value,
        r.scaler,
        r.unit,
        (r.quality ?? []).join(' '),
      ]),
    );
    const files: ArchiveFile[] = [
      { name: 'readings.json', bytes: json(readingsJson) },
      {
        name: 'readings.csv',
        bytes: Buffer.from(
          toCsv(
            [
              'occupancyId',
              'meterId',
              'obis',
              'intervalStart',
              'intervalMinutes',
              'value',
              'scaler',
              'unit',
              'quality',
            ],
            csvRows,
          ),
          'utf8',
        ),
      },
      { name: 'occupancies.json', bytes: json(occupancies.map(period)) },
      {
        name: 'consents.json',
        bytes: json(
          consents.map((c) => ({
            consentId: c.consent_id,
            occupancyId: c.occupancy_id,
            purpose: c.purpose,
            recipient: c.recipient,
            granularity: c.granularity,
            basis: c.basis,
            status: c.status,
            effectiveFrom: c.effective_from.toISOString(),
            effectiveTo: iso(c.effective_to),
            historicalFrom: iso(c.historical_from),
            noticeSentAt: iso(c.notice_sent_at),
            evidenceRef: c.evidence_ref,
            policy: c.policy,
            version: c.version,
            recordedAt: c.recorded_at.toISOString(),
          })),
        ),
      },
      {
        name: 'releases.json',
        bytes: json(releases),
      },
      {
        name: 'processing.json',
        bytes: json(
          processingInformation({
            tenantId: row.tenant_id,
            policy,
            policyRef: policyRef(policy),
            recipients: [...consents.map((c) => c.recipient), ...releases.map((r) => r.recipient)],
            schedules,
            backupRetentionDays: this.config.PRIVACY_BACKUP_RETENTION_DAYS,
          }),
        ),
      },
    ];
    const manifest = signManifest(
      {
        manifestVersion: 1,
        exportId: row.export_id,
        tenantId: row.tenant_id,
        subjectRef: row.subject_ref,
        generatedAt: new Date().toISOString(),
        generator: GENERATOR,
        scope: { occupancyIds: ids },
      },
      files,
      certificateKey,
    );
    const manifestBytes = json(manifest);
    return {
      tar: tarArchive([...files, { name: MANIFEST_FILE, bytes: manifestBytes }], new Date()),
      manifestSha256: sha256Hex(manifestBytes),
      summary: {
        readings: csvRows.length,
        consents: consents.length,
        releases: releases.length,
        recordsOwn: read.cost.own,
        recordsFetched: read.cost.fetched,
        recordsUnreadable: read.cost.unreadable,
      },
    };
  }

  /** Deletes the archives whose link lapsed; each deletion audited on the tenant's chain. */
  private async expire(now: Date): Promise<void> {
    for (;;) {
      const done = await this.transactions.run(async (trx) => {
        const lapsed = await this.exports.lapsed(trx, now);
        for (const row of lapsed) {
          if (row.object_key) await this.store.delete(this.config.PRIVACY_EXPORT_BUCKET, row.object_key);
          await this.exports.expired(trx, row.export_id, now);
          await this.audit.append(trx, row.tenant_id, [
            {
              action: 'privacy.export-expired',
              actor: EXPORT_ACTOR,
              subject: row.export_id,
              outcome: 'allowed',
              detail: {
                bucket: this.config.PRIVACY_EXPORT_BUCKET,
                objectKey: row.object_key ?? '',
                action: 'deleted',
                keyDestroyed: true,
              },
            },
          ]);
        }
        return lapsed.length;
      });
      if (done === 0 || this.stopping) return;
    }
  }
}
