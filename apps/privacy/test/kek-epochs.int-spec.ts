import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_EVENTS, PLATFORM_AUDIT_CHAIN } from '@meterkeep/contracts';
import { createDatabase } from '@meterkeep/db';
import { stackEndpoints } from '@meterkeep/testing';
import type { PrivacyDb } from '../src/core/database';
import { DataKeyCipher } from '../src/data-keys/data-key-cipher';
import { BackupResiduals } from '../src/key-epochs/backup-residuals';
import { KekEpochsRepository } from '../src/key-epochs/kek-epochs.repository';
import { KekEpochUnavailableError, KekRing } from '../src/key-epochs/kek-ring';
import { KekRingStore } from '../src/key-epochs/kek-ring-store';
import { type RotateKekOptions, RotateKekUseCase } from '../src/key-epochs/rotate-kek.use-case';
import { ReleaseKeys } from '../src/release/release-keys';
import { EnrollmentProcess, PrivacyHarness, TopicTap, testKafka } from './privacy-test-kit';

const run = promisify(execFile);
const DAY = 24 * 3600 * 1000;

interface MeterKeys {
  occupancies: { occupancyId: string; keyId: string; key?: string; destroyed: boolean }[];
  meterKey: { keyId: string; key: string };
}

describe('privacy: KEK epochs', () => {
  let enrollment: EnrollmentProcess;
  let h: PrivacyHarness;
  let tenantId: string;
  let admin: string;
  let operator: string;
  let auditTap: TopicTap;
  const runId = randomBytes(4).toString('hex');
  let meters = 0;
  const newMeter = () => `MTR-KEK-${runId}-${++meters}`;

  const rotate = (options: RotateKekOptions = {}) => h.service.app.get(RotateKekUseCase).execute(options);
  const open = async (meterId: string) => {
    const opened = await h.request<{ occupancyId: string; keyId: string }>('POST', '/v1/occupancies', {
      key: operator,
      json: { meterId, subjectRef: `hh-${runId}`, from: '2026-01-01T00:00:00Z' },
    });
    expect(opened.status).toBe(201);
    return opened.body;
  };
  const meterKeys = async (meterId: string) => {
    const response = await h.internal<MeterKeys>(
      `/internal/v1/tenants/${tenantId}/meters/${meterId}/data-keys`,
    );
    expect(response.status).toBe(200);
    return response.body;
  };
  /** The plain key of the meter's (only) occupancy, as ingest gets it. */
  const occupancyKey = async (meterId: string) => (await meterKeys(meterId)).occupancies[0]?.key;
  const row = (keyId: string) =>
    h.db
      .selectFrom('data_keys')
      .select(['kek_epoch', 'wrapped_key'])
      .where('key_id', '=', keyId)
      .executeTakeFirstOrThrow();
  const epochRow = (epoch: number) =>
    h.db.selectFrom('kek_epochs').selectAll().where('epoch', '=', epoch).executeTakeFirstOrThrow();
  /** Live keys outside the epoch: data keys and the release gate's keys alike. */
  const liveKeysOutside = async (epoch: number) => {
    let live = 0;
    for (const table of ['data_keys', 'release_keys'] as const)
      live += (
        await h.db
          .selectFrom(table)
          .select('key_id')
          .where('wrapped_key', 'is not', null)
          .where('kek_epoch', '<>', epoch)
          .execute()
      ).length;
    return live;
  };

  beforeAll(async () => {
    enrollment = await EnrollmentProcess.start('privacy');
    ({ tenantId, adminKey: admin } = await enrollment.tenant('pvkek'));
    operator = await enrollment.key(tenantId, 'operator');
    // No periodic check: the tests turn epochs over themselves, with their own clock.
    h = await PrivacyHarness.start({
      enrollmentUrl: enrollment.internalUrl,
      env: { PRIVACY_KEK_CHECK_INTERVAL_S: '0' },
    });
    auditTap = await TopicTap.open(testKafka(), AUDIT_EVENTS);
  });
  afterAll(async () => {
    await auditTap?.close();
    await h?.stop();
    await enrollment?.stop();
  });

  it('moves keys made before epochs (epoch 0, under PRIVACY_KEK itself) to the first epoch, and they still open', async () => {
    const meterId = newMeter();
    const { keyId } = await open(meterId);
    const before = await row(keyId);
    expect(before.kek_epoch).toBe(0);
    const plain = await occupancyKey(meterId);
    expect(plain).toBeDefined();

    // Epoch 0 is due at once: it has no KEK of its own that could ever be destroyed.
    const report = await rotate();
    expect(report).toMatchObject({ busy: false, openedEpoch: 1, currentEpoch: 1, complete: true });
    expect(report.retiredEpochs).toContain(0);
    const after = await row(keyId);
    expect(after.kek_epoch).toBe(1);
    expect(after.wrapped_key!.equals(before.wrapped_key!)).toBe(false);
    expect(await occupancyKey(meterId)).toBe(plain);
    expect(await liveKeysOutside(1)).toBe(0);
    // The epoch's KEK is in the ring (S3), wrapped: PostgreSQL holds only its reference.
    const epoch1 = await epochRow(1);
    expect(epoch1.ring_ref).toMatch(/^1-[0-9a-f]{24}$/);
    expect(await h.service.app.get(KekRingStore).get(epoch1.ring_ref!)).toHaveLength(61);

    // New keys are made under the current epoch.
    const fresh = await open(newMeter());
    expect((await row(fresh.keyId)).kek_epoch).toBe(1);
    // Running again when nothing is due changes nothing.
    const again = await rotate();
    expect(again).toMatchObject({ currentEpoch: 1, rewrapped: 0, complete: true, destroyedEpochs: [] });
    expect(again.openedEpoch).toBeUndefined();
  });

  it('re-wraps every live key to a new epoch; a destroyed key stays destroyed', async () => {
    const [kept, erased] = [newMeter(), newMeter()];
    const keptKey = await open(kept);
    const erasedKey = await open(erased);
    const keptPlain = await occupancyKey(kept);
    expect((await h.request('POST', `/v1/data-keys/${erasedKey.keyId}/destroy`, { key: admin })).status).toBe(
      200,
    );
    const { currentEpoch: previous } = await rotate();

    const report = await rotate({ force: true });
    expect(report.openedEpoch).toBe(previous + 1);
    expect(report.complete).toBe(true);
    expect(report.retiredEpochs).toContain(previous);
    expect((await row(keptKey.keyId)).kek_epoch).toBe(previous + 1);
    expect(await occupancyKey(kept)).toBe(keptPlain);
    const destroyed = await row(erasedKey.keyId);
    expect(destroyed.wrapped_key).toBeNull();
    expect(destroyed.kek_epoch).toBe(previous);
    expect((await meterKeys(erased)).occupancies[0]).toMatchObject({ destroyed: true });
    expect((await meterKeys(erased)).occupancies[0]!.key).toBeUndefined();

    const [opened] = await auditTap.waitFor(
      (r) =>
        r.json.tenantId === PLATFORM_AUDIT_CHAIN &&
        r.json.action === 'privacy.kek-epoch-opened' &&
        r.json.subject === `kek-epoch-${previous + 1}`,
      1,
      'epoch opened audit record',
    );
    expect(JSON.stringify(opened!.json)).not.toMatch(/[A-Za-z0-9+/]{43}=/);
  });

  it('opens many occupancies at once while the current epoch KEK is not yet loaded (no pool deadlock)', async () => {
    const { currentEpoch } = await rotate();
    // As a process that just started: the epoch KEK is read on first use, inside each opening transaction.
    h.service.app.get(KekRing).forget(currentEpoch);
    // Three times the pool (DATABASE_POOL_MAX, default 10): every connection held by a transaction that
    // waits on the same first load, the failure the demo met with 16 openings at a time.
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        h.request('POST', '/v1/occupancies', {
          key: operator,
          json: { meterId: newMeter(), subjectRef: `hh-${runId}`, from: '2026-01-01T00:00:00Z' },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
  });

  it("re-wraps the release gate's purpose keys with the data keys; they open the same after", async () => {
    const meterId = newMeter();
    const { occupancyId } = await open(meterId);
    const occupancy = await h.db
      .selectFrom('occupancies')
      .selectAll()
      .where('occupancy_id', '=', occupancyId)
      .executeTakeFirstOrThrow();
    const keys = h.service.app.get(ReleaseKeys);
    const made = await h.db
      .transaction()
      .execute((trx) => keys.forPurpose(trx, occupancy, 'supplier', 'billing'));
    const { currentEpoch: previous } = await rotate();
    const report = await rotate({ force: true });
    expect(report.complete).toBe(true);
    const stored = await h.db
      .selectFrom('release_keys')
      .selectAll()
      .where('key_id', '=', made.keyId)
      .executeTakeFirstOrThrow();
    expect(stored.kek_epoch).toBe(previous + 1);
    const again = await h.db
      .transaction()
      .execute((trx) => keys.forPurpose(trx, occupancy, 'supplier', 'billing'));
    expect(again.keyId).toBe(made.keyId);
    expect(again.key.equals(made.key)).toBe(true);
    // An epoch still holding a live release key counts as holding keys.
    expect(await h.service.app.get(KekEpochsRepository).liveKeys(h.db, previous + 1)).toBeGreaterThan(0);
  });

  it('lets one rotation run at a time: a run finding the lock taken answers busy and does nothing', async () => {
    const { currentEpoch } = await rotate();
    const repository = h.service.app.get(KekEpochsRepository);
    const inside = await repository.withRotationLock(() => rotate({ force: true }));
    expect(inside).toMatchObject({ busy: true, currentEpoch, rewrapped: 0 });
    expect((await rotate()).currentEpoch).toBe(currentEpoch);

    // Racing runs: each epoch is opened by exactly one, and every key ends in the last one.
    const reports = await Promise.all([
      rotate({ force: true }),
      rotate({ force: true }),
      rotate({ force: true }),
    ]);
    const opened = reports.flatMap((r) => (r.openedEpoch === undefined ? [] : [r.openedEpoch]));
    expect(opened.length).toBeGreaterThanOrEqual(1);
    expect(new Set(opened).size).toBe(opened.length);
    expect(reports.filter((r) => !r.busy)).toHaveLength(opened.length);
    const { currentEpoch: last } = await rotate();
    expect(last).toBe(currentEpoch + opened.length);
    expect(await liveKeysOutside(last)).toBe(0);
  });

  it('resumes a rotation stopped mid-way; every key opens throughout', async () => {
    const meterIds = Array.from({ length: 5 }, newMeter);
    for (const meterId of meterIds) await open(meterId);
    const plain = new Map<string, string | undefined>();
    for (const meterId of meterIds) plain.set(meterId, await occupancyKey(meterId));
    const { currentEpoch: previous } = await rotate();
    const live = { n: await liveKeysOutside(-1) };

    // Stopped after one batch of two, as a crash between batches leaves it.
    const partial = await rotate({ force: true, batchSize: 2, maxBatches: 1 });
    expect(partial).toMatchObject({
      openedEpoch: previous + 1,
      rewrapped: 2,
      complete: false,
      retiredEpochs: [],
    });
    expect(await liveKeysOutside(previous + 1)).toBe(Number(live.n) - 2);
    expect((await epochRow(previous)).retired_at).toBeNull();
    for (const meterId of meterIds) expect(await occupancyKey(meterId)).toBe(plain.get(meterId));

    // The next run (no new epoch due) finishes the job, and only then retires the old epoch.
    const resumed = await rotate({ batchSize: 2 });
    expect(resumed).toMatchObject({
      currentEpoch: previous + 1,
      rewrapped: Number(live.n) - 2,
      complete: true,
    });
    expect(resumed.openedEpoch).toBeUndefined();
    expect(resumed.retiredEpochs).toEqual([previous]);
    expect(await liveKeysOutside(previous + 1)).toBe(0);
    for (const meterId of meterIds) expect(await occupancyKey(meterId)).toBe(plain.get(meterId));
  });

  it('destroys an epoch KEK only once it was retired longer than the backup retention, and records it', async () => {
    const meterId = newMeter();
    await open(meterId);
    const plain = await occupancyKey(meterId);
    const retired = await h.db
      .selectFrom('kek_epochs')
      .selectAll()
      .where('retired_at', 'is not', null)
      .where('destroyed_at', 'is', null)
      .where('epoch', '>', 0)
      .orderBy('epoch')
      .execute();
    expect(retired.length).toBeGreaterThan(0);
    const now = Date.now();

    expect((await rotate({ now: new Date(now + 34 * DAY) })).destroyedEpochs).toEqual([]);
    const report = await rotate({ now: new Date(now + 36 * DAY) });
    for (const epoch of retired) {
      expect(report.destroyedEpochs).toContain(epoch.epoch);
      expect((await epochRow(epoch.epoch)).destroyed_at).not.toBeNull();
      expect(await h.service.app.get(KekRingStore).get(epoch.ring_ref!)).toBeUndefined();
    }
    expect(report.destroyedEpochs).toContain(0);
    expect(await occupancyKey(meterId)).toBe(plain);
    await auditTap.waitFor(
      (r) =>
        r.json.tenantId === PLATFORM_AUDIT_CHAIN &&
        r.json.action === 'privacy.kek-epoch-destroyed' &&
        r.json.subject === `kek-epoch-${retired[0]!.epoch}`,
      1,
      'epoch destroyed audit record',
    );
  });

  it('erasure.backup-restore-cannot-resurrect-key', async () => {
    // Keys of epoch 0 are under PRIVACY_KEK itself, which no rotation destroys: start past it.
    if ((await h.service.app.get(KekEpochsRepository).current()).epoch === 0) await rotate();
    const meterId = newMeter();
    const { keyId } = await open(meterId);
    const plain = await occupancyKey(meterId);
    const { epoch } = await h.service.app.get(KekEpochsRepository).current();
    expect((await row(keyId)).kek_epoch).toBe(epoch);

    const backup = await Backup.take(h.schema);
    try {
      // Erasure: the key is destroyed, then epochs turn over.
      expect((await h.request('POST', `/v1/data-keys/${keyId}/destroy`, { key: admin })).status).toBe(200);
      const rotatedAt = Date.now();
      expect((await rotate({ force: true, now: new Date(rotatedAt) })).retiredEpochs).toContain(epoch);

      // The backup restored: its row still holds the wrapped key, and (control) while the epoch's KEK
      // exists the service's ring unwraps it. Without epoch destruction a backup brings the key back.
      const restored = await backup.restore();
      const restoredRow = await restored
        .selectFrom('data_keys')
        .selectAll()
        .where('key_id', '=', keyId)
        .executeTakeFirstOrThrow();
      expect(restoredRow.wrapped_key).not.toBeNull();
      expect(restoredRow.kek_epoch).toBe(epoch);
      const binding = { tenantId, meterId, keyId };
      const stored = { wrappedKey: restoredRow.wrapped_key!, kekEpoch: restoredRow.kek_epoch };
      // A ring over the restored database: its epoch records are as they were before the erasure.
      const ringOverBackup = () =>
        new KekRing(new KekEpochsRepository(restored), h.service.app.get(KekRingStore), h.config);
      expect((await ringOverBackup().unwrap(stored, binding)).toString('base64')).toBe(plain);
      // The live row keeps a commitment to the wrapped bytes: an auditor can tell the restored row is
      // the erased key without anyone revealing it.
      const erased = await h.db
        .selectFrom('data_keys')
        .select(['wrapped_key', 'wrapped_key_sha256'])
        .where('key_id', '=', keyId)
        .executeTakeFirstOrThrow();
      expect(erased.wrapped_key).toBeNull();
      expect(erased.wrapped_key_sha256!.equals(createHash('sha256').update(stored.wrappedKey).digest())).toBe(
        true,
      );
      // Until then the certificate states the backups as a residual copy, with the date they stop.
      expect(await h.service.app.get(BackupResiduals).forEpoch(epoch)).toMatchObject({
        kekEpoch: epoch,
        unrecoverableAfter: new Date(rotatedAt + 35 * DAY).toISOString(),
        estimated: false,
      });

      // Once the retention has passed, the epoch's KEK is destroyed: the restored key is noise.
      const destroyed = await rotate({ now: new Date(rotatedAt + 36 * DAY) });
      expect(destroyed.destroyedEpochs).toContain(epoch);
      expect((await h.service.app.get(BackupResiduals).forEpoch(epoch)).unrecoverableAfter).toBe(
        new Date(rotatedAt + 36 * DAY).toISOString(),
      );
      await expect(ringOverBackup().unwrap(stored, binding)).rejects.toBeInstanceOf(KekEpochUnavailableError);
      await expect(h.service.app.get(KekRing).unwrap(stored, binding)).rejects.toBeInstanceOf(
        KekEpochUnavailableError,
      );
      // PRIVACY_KEK itself (the master key) does not open it either: it only ever wrapped epoch KEKs.
      expect(() => new DataKeyCipher(h.config.PRIVACY_KEK).unwrap(stored.wrappedKey, binding)).toThrow();
    } finally {
      await backup.drop();
    }
  });
});

/**
 * A pg_dump of one schema, restored as an operator would, into a scratch schema of the same database
 * (the test role may not create databases): the dump's schema name, random and unique, is renamed.
 */
class Backup {
  private restored: { schema: string; db: Kysely<PrivacyDb> } | undefined;

  private constructor(
    private readonly schema: string,
    private readonly dir: string,
  ) {}

  private get file(): string {
    return join(this.dir, 'privacy.sql');
  }

  static async take(schema: string): Promise<Backup> {
    const backup = new Backup(schema, await mkdtemp(join(tmpdir(), 'privacy-backup-')));
    await run('pg_dump', [
      '--schema',
      schema,
      '--no-owner',
      '--no-privileges',
      '--file',
      backup.file,
      stackEndpoints().databaseUrl,
    ]);
    return backup;
  }

  async restore(): Promise<Kysely<PrivacyDb>> {
    const schema = `${this.schema}_restored`;
    const dump = await readFile(this.file, 'utf8');
    const restoredFile = join(this.dir, 'restored.sql');
    await writeFile(restoredFile, dump.replaceAll(this.schema, schema));
    this.restored = {
      schema,
      db: createDatabase<PrivacyDb>({ url: stackEndpoints().databaseUrl, schema, pool: { max: 1 } }),
    };
    await run('psql', [
      '--quiet',
      '--no-psqlrc',
      '-v',
      'ON_ERROR_STOP=1',
      '--file',
      restoredFile,
      stackEndpoints().databaseUrl,
    ]);
    return this.restored.db;
  }

  async drop(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    if (!this.restored) return;
    try {
      await sql`drop schema if exists ${sql.id(this.restored.schema)} cascade`.execute(this.restored.db);
    } finally {
      await this.restored.db.destroy();
    }
  }
}
