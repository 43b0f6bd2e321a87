import { generateKeyPairSync, randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { lstat, open, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_READINGS } from '@meterkeep/contracts';
import { ObjectStore, createS3Client } from '@meterkeep/storage';
import {
  type ActiveFleet,
  type Platform,
  activeFleet,
  deviceClient,
  startPlatform,
  stackEndpoints,
  waitUntil,
} from '@meterkeep/testing';
import { dayOfReadings, kafkaClient, recordsOf, utcDay } from './telemetry-kit';

// The plaintext canary (spec privacy.md §4.7 step 4: NIST's precondition that crypto-erased data was
// never stored unencrypted): a reading whose value is a 13-digit sentinel is found by a byte search of
// Kafka's log segments, PostgreSQL's data directory, the S3 server's data directory and the services'
// logs 0 times, before and after the subject's erasure. Each place is also searched for a text that is
// stored there in the clear, so an empty or unreadable place cannot pass as clean.

const root = resolve(__dirname, '../..');
const CHUNK = 1 << 20;

/** Occurrences of `needle` in every regular file under `dir`, read in chunks that overlap. */
async function occurrences(dir: string, needle: string): Promise<{ hits: string[]; files: number }> {
  const bytes = Buffer.from(needle, 'latin1');
  const hits: string[] = [];
  let files = 0;
  // A file may go between listing and reading (PostgreSQL drops other suites' schemas meanwhile).
  const gone = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';
  const walk = async (path: string): Promise<void> => {
    const stat = await lstat(path).catch((error: unknown) => {
      if (gone(error)) return undefined;
      throw error;
    });
    if (!stat) return;
    if (stat.isDirectory()) {
      const entries = await readdir(path).catch((error: unknown) => {
        if (gone(error)) return [];
        throw error;
      });
      for (const entry of entries) await walk(join(path, entry));
      return;
    }
    if (!stat.isFile()) return;
    files += 1;
    const handle = await open(path, 'r').catch((error: unknown) => {
      if (gone(error)) return undefined;
      throw error;
    });
    if (!handle) return;
    try {
      const buffer = Buffer.alloc(CHUNK + bytes.length);
      let carried = 0;
      let position = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, carried, CHUNK, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const filled = carried + bytesRead;
        if (buffer.subarray(0, filled).includes(bytes)) {
          hits.push(path);
          break;
        }
        carried = Math.min(bytes.length - 1, filled);
        buffer.copy(buffer, 0, filled - carried, filled);
      }
    } finally {
      await handle.close();
    }
  };
  await walk(dir);
  return { hits, files };
}

/** PostgreSQL's data directory: METERKEEP_PG_DATA_DIR, else SHOW data_directory as the OS superuser. */
function postgresDataDir(): string {
  const configured = process.env.METERKEEP_PG_DATA_DIR;
  if (configured) return configured;
  // The stack's role may not read the setting; the local cluster's postgres user may (peer auth).
  return execFileSync('su', ['postgres', '-c', 'psql -Atc "show data_directory"'], {
    encoding: 'utf8',
  }).trim();
}

describe('erasure.canary-never-plaintext-anywhere', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-canary-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  const tenantId = `cn-${runId.toLowerCase()}`;
  // 13 digits, fresh each run, so an earlier run's copies cannot be mistaken for this one's.
  const sentinel = String(1_000_000_000_000 + randomInt(8_999_999_999_999));
  let platform: Platform;
  let fleet: ActiveFleet;
  let meter: string;
  let places: { name: string; dir: string; control: string }[];
  // The S3 server holds nothing of this run in the clear: the test stores its own control object.
  let store: ObjectStore;
  const controlBucket = 'meterkeep-canary-control';
  const s3Control = `s3-control-${runId}`;

  const searchAll = async () => {
    for (const place of places) {
      const canary = await occurrences(place.dir, sentinel);
      expect(canary.files, `${place.name}: files searched`).toBeGreaterThan(0);
      expect(canary.hits, `${place.name}: files holding the sentinel in the clear`).toEqual([]);
      expect(
        (await occurrences(place.dir, place.control)).hits.length,
        `${place.name}: control found`,
      ).toBeGreaterThan(0);
    }
  };

  beforeAll(async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyFile = join(logs, 'certificate-key.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    store = new ObjectStore(createS3Client(stackEndpoints().s3));
    await store.ensureBucket(controlBucket);
    await store.put(controlBucket, s3Control, Buffer.from(s3Control), { contentType: 'text/plain' });
    platform = await startPlatform({ logs, privacyEnv: { PRIVACY_CERTIFICATE_KEY_FILE: keyFile } });
    fleet = await activeFleet(platform, { tenantId, count: 1, prefix: `CN${runId}M` });
    meter = fleet.batch.endpointNames[0]!;
    places = [
      {
        name: 'Kafka log segments',
        dir: join(root, '.local-stack/kafka/data'),
        control: `${tenantId}/${meter}`,
      },
      { name: 'PostgreSQL data directory', dir: postgresDataDir(), control: meter },
      {
        name: 'S3 server data directory',
        dir: join(root, '.local-stack/s3proxy/data'),
        control: s3Control,
      },
      { name: 'service logs', dir: logs, control: meter },
    ];
  }, 300_000);

  afterAll(async () => {
    await store?.delete(controlBucket, s3Control).catch(() => undefined);
    await platform?.stop();
  });

  it('finds the sentinel nowhere in the clear, before and after the erasure', async () => {
    const subjectRef = `subj-${runId}`;
    const opened = await fleet.privacyApi('POST', '/v1/occupancies', {
      meterId: meter,
      subjectRef,
      from: new Date(Date.now() - 10 * 86_400_000).toISOString(),
    });
    expect(opened.status).toBe(201);
    const client = deviceClient(platform.ingestUri, platform.serverCaPem, {
      statesDir: fleet.batch.statesDir,
      endpointName: meter,
    });
    try {
      const [reading] = dayOfReadings(utcDay(2), 1, 1);
      const answer = await client.post('/tl/v1/batches', {
        batchId: 'canary-1',
        readings: [{ ...reading, value: Number(sentinel) }],
      });
      expect(answer.body).toMatchObject({ accepted: 1 });
    } finally {
      client.close();
    }
    const kafka = kafkaClient();
    expect(await recordsOf(kafka, TELEMETRY_READINGS.name, `${tenantId}/${meter}`)).toHaveLength(1);
    // The ingest's and privacy's own writes have reached their logs and the release gate its staging.
    await new Promise((done) => setTimeout(done, 3_000));
    await searchAll();

    const erasure = await fleet.privacyApi('POST', `/v1/subjects/${subjectRef}/erasures`, {});
    expect(erasure.status).toBe(202);
    const erasureId = (erasure.body as { erasureId: string }).erasureId;
    await waitUntil(
      async () => {
        const view = await fleet.privacyApi('GET', `/v1/subjects/${subjectRef}/erasures/${erasureId}`);
        return (view.body as { state: string }).state === 'CERTIFIED';
      },
      { timeoutMs: 90_000, description: 'the erasure certified' },
    );
    await searchAll();
    // The certificate is in the logs' reach too: it names keys and ids, never the value.
    expect(await readFile(join(logs, 'privacy.log'), 'latin1')).not.toContain(sentinel);
  }, 240_000);
});
