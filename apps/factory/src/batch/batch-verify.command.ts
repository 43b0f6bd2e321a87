import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type Certificate, parseCertificate } from '@meterkeep/pki';
import { HELP_OPTION, integer, parseOrUsage } from '../cli/args';
import type { CliCommand, CliIo } from '../cli/command';
import { ProgressBar } from '../cli/progress';
import { CA_FILES, assertIssuedBy } from '../ca/ca-store';
import { FactoryError, errorMessage, usageError } from '../factory.errors';
import { type BatchFile, chunkCount, credentialOf, serialFor } from './batch-file';
import { BatchLayout, TMP_SUFFIX, exists } from './batch-layout';
import { readExistingBatch } from './batch-setup';
import { schedule } from './chunk-scheduler';
import type { VerifyFailure, VerifyJob, VerifyResult } from './chunk-jobs';
import { ENROLLMENT_LIST_MODE, enrollmentHeader } from './enrollment-list';
import { type BatchManifest, batchManifest, verifyManifestSignature } from './manifest';
import { WorkerPool, defaultWorkerCount } from './worker-pool';

const HELP = `Usage: factory batch verify DIR (--ca CA_DIR | --root FILE) [options]

The factory configurator's check of a whole batch, before the bundles go to the line: every bundle
complete and well-formed, its certificate chaining to the manufacturer root (clientAuth), its key
matching its certificate, its validity covering the meter's expected life, every configured
parameter present; serials unique and in order; the enrollment list matching the bundles; the
manifest's signature and digest. Every failure is printed on stdout as
  <file>:<line> (<endpoint name>): <CODE>: <what is wrong>
and the command exits 1 when there is any, 0 when there is none.

Options:
  --ca CA_DIR        trust CA_DIR/${CA_FILES.rootCertificate} as the manufacturer root (never the batch's own copy)
  --root FILE        or this PEM certificate
  --at TIME          judge certificate validity at this ISO 8601 instant (default: now)
  --workers N        worker threads (default: the machine's available parallelism)
  -h, --help         this help
`;

/** Lines of a text file, one at a time, on demand. */
class LineReader {
  private readonly lines: AsyncIterator<string, undefined>;
  lineNo = 0;

  constructor(path: string) {
    this.lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })[
      Symbol.asyncIterator
    ]() as AsyncIterator<string, undefined>;
  }

  async next(): Promise<string | undefined> {
    const result = await this.lines.next();
    if (result.done) return undefined;
    this.lineNo++;
    return result.value;
  }

  async close(): Promise<void> {
    await this.lines.return?.();
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const data of createReadStream(path) as AsyncIterable<Buffer>) hash.update(data);
  return hash.digest('hex');
}

async function readRoot(values: { ca?: string; root?: string }): Promise<Certificate> {
  if ((values.ca === undefined) === (values.root === undefined)) {
    throw usageError('give the manufacturer root with --ca CA_DIR or --root FILE (one of them)');
  }
  const path = values.root ?? join(values.ca!, CA_FILES.rootCertificate);
  try {
    return parseCertificate(await readFile(path, 'utf8'));
  } catch (error) {
    throw new FactoryError('CA_INVALID', `${path}: ${errorMessage(error)}`);
  }
}

/** Collects failures and prints each as it is found. */
class FailureReport {
  count = 0;
  constructor(private readonly io: CliIo) {}

  add(where: string, code: string, message: string): void {
    this.count++;
    this.io.stdout.write(`${where}: ${code}: ${message}\n`);
  }
}

/** The manifest: present, well-formed, signed by the batch's intermediate, and about this batch. */
async function checkManifest(
  layout: BatchLayout,
  batch: BatchFile,
  intermediate: Certificate | undefined,
  failures: FailureReport,
): Promise<BatchManifest | undefined> {
  if (!(await exists(layout.manifest))) {
    failures.add(
      'manifest.json',
      'INCOMPLETE',
      'missing: the batch never finished (re-run the command that made it)',
    );
    return undefined;
  }
  const bytes = await readFile(layout.manifest);
  let manifest: BatchManifest;
  try {
    manifest = batchManifest.parse(JSON.parse(bytes.toString('utf8')));
  } catch (error) {
    failures.add('manifest.json', 'MANIFEST_INVALID', errorMessage(error));
    return undefined;
  }
  const signature = (await exists(layout.manifestSignature))
    ? await readFile(layout.manifestSignature)
    : undefined;
  if (!signature) {
    failures.add('manifest.sig', 'MANIFEST_SIGNATURE', 'missing');
  } else if (intermediate && !verifyManifestSignature(bytes, signature, intermediate.publicKey)) {
    failures.add('manifest.sig', 'MANIFEST_SIGNATURE', 'does not verify under the intermediate CA key');
  }
  const expected: [string, unknown, unknown][] = [
    ['batchId', manifest.batchId, batch.batchId],
    ['model', manifest.model, batch.model],
    ['credential', manifest.credential, credentialOf(batch)],
    ['ca.intermediateSha256', manifest.ca.intermediateSha256, batch.ca.intermediateSha256],
    ['ca.rootSha256', manifest.ca.rootSha256, batch.ca.rootSha256],
  ];
  for (const [field, actual, wanted] of expected) {
    if (actual !== wanted)
      failures.add(
        'manifest.json',
        'MANIFEST_MISMATCH',
        `${field} is ${String(actual)}, batch.json says ${String(wanted)}`,
      );
  }
  return manifest;
}

export const batchVerifyCommand: CliCommand = {
  path: ['batch', 'verify'],
  summary: 'check every bundle of a batch: chain, key, lifetime, parameters, list and manifest',
  help: HELP,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          ...HELP_OPTION,
          ca: { type: 'string' },
          root: { type: 'string' },
          at: { type: 'string' },
          workers: { type: 'string' },
        },
      }),
    );
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw usageError('batch verify takes one batch directory');
    const layout = new BatchLayout(positionals[0]!);
    const at = values.at === undefined ? io.now() : new Date(values.at);
    if (Number.isNaN(at.getTime()))
      throw usageError(`--at ${JSON.stringify(values.at)} is not an ISO 8601 time`);
    const workers = integer(values.workers, 'workers', 1, 256) ?? defaultWorkerCount();
    const root = await readRoot(values);
    const batch = await readExistingBatch(layout);
    if (!batch)
      throw new FactoryError('BATCH_INVALID', `${layout.batchFile} not found: not a batch directory`);
    const failures = new FailureReport(io);

    // The CA: the batch's intermediate must be the trusted root's, as the manifest says.
    if (root.fingerprintSha256 !== batch.ca.rootSha256) {
      failures.add(
        'batch.json',
        'CA_MISMATCH',
        `made under root ${batch.ca.rootSha256}, not the trusted ${root.fingerprintSha256}`,
      );
    }
    let intermediate: Certificate | undefined;
    try {
      intermediate = parseCertificate(batch.ca.intermediatePem);
      assertIssuedBy(intermediate, root);
      if (intermediate.fingerprintSha256 !== batch.ca.intermediateSha256)
        throw new Error('fingerprint differs from ca.intermediateSha256');
    } catch (error) {
      failures.add('batch.json', 'CA_MISMATCH', `intermediate CA: ${errorMessage(error)}`);
      intermediate = undefined;
    }
    const manifest = await checkManifest(layout, batch, intermediate, failures);

    // The enrollment list: its digest is in the manifest, its rows must be the bundles', in order.
    const credential = credentialOf(batch);
    let list: LineReader | undefined;
    if (!(await exists(layout.enrollmentList))) {
      failures.add('enrollment-list.csv', 'INCOMPLETE', 'missing');
    } else {
      const digest = await sha256File(layout.enrollmentList);
      if (manifest && digest !== manifest.enrollmentList.sha256) {
        failures.add(
          'enrollment-list.csv',
          'ENROLLMENT_DIGEST',
          `sha256 ${digest}, the manifest says ${manifest.enrollmentList.sha256}`,
        );
      }
      const mode = (await stat(layout.enrollmentList)).mode & 0o777;
      if (credential === 'psk' && (mode & 0o077) !== 0) {
        failures.add(
          'enrollment-list.csv',
          'ENROLLMENT_PERMISSIONS',
          `mode ${mode.toString(8)}: it holds PSKs, ${ENROLLMENT_LIST_MODE.psk.toString(8)} expected`,
        );
      }
      list = new LineReader(layout.enrollmentList);
      const header = await list.next();
      if (`${header ?? ''}\n` !== enrollmentHeader(credential)) {
        failures.add(
          'enrollment-list.csv:1',
          'ENROLLMENT_MISMATCH',
          `header ${JSON.stringify(header)}, expected ${JSON.stringify(enrollmentHeader(credential).trim())}`,
        );
      }
    }

    // The chunk files: all there, none half-written, nothing else.
    const chunks = chunkCount(batch);
    const names = (await exists(layout.bundlesDir)) ? await readdir(layout.bundlesDir) : [];
    for (const name of names) {
      const match = /^chunk-(\d{6})\.jsonl$/.exec(name);
      if (name.endsWith(TMP_SUFFIX))
        failures.add(`bundles/${name}`, 'INCOMPLETE', 'a chunk left half-written by an interrupted run');
      else if (!match || Number(match[1]) >= chunks)
        failures.add(`bundles/${name}`, 'UNEXPECTED_FILE', 'not a chunk of this batch');
    }
    const present = new Set(names);
    const jobs: VerifyJob[] = [];
    for (let chunk = 0; chunk < chunks; chunk++) {
      const path = layout.bundles(chunk);
      const label = `bundles/${path.slice(layout.bundlesDir.length + 1)}`;
      if (present.has(path.slice(layout.bundlesDir.length + 1))) jobs.push({ chunk, path, label });
      else failures.add(label, 'CHUNK_MISSING', 'missing');
    }

    // Every bundle, in worker threads; results are taken in chunk order to walk the list alongside.
    const progress = new ProgressBar('batch verify', manifest?.count ?? batch.count, io.stderr);
    const pool = new WorkerPool<VerifyJob, VerifyResult>(Math.max(1, Math.min(workers, jobs.length)), {
      task: 'verify',
      batch,
      rootPem: root.pem,
      at: at.toISOString(),
    });
    const pending = new Map<number, VerifyResult>();
    let nextChunk = 0;
    let bundles = 0;
    let firstIndex: number | undefined;
    let lastIndex: number | undefined;
    let listAligned = list !== undefined;
    const consume = async (result: VerifyResult) => {
      result.failures.forEach((f: VerifyFailure) => failures.add(f.where, f.code, f.message));
      for (const fingerprint of result.intermediates) {
        if (fingerprint !== batch.ca.intermediateSha256) {
          failures.add(
            jobs.find((j) => j.chunk === result.chunk)!.label,
            'CA_MISMATCH',
            `bundles chain to intermediate ${fingerprint}, not the batch's`,
          );
        }
      }
      if (result.firstIndex !== undefined) {
        if (lastIndex !== undefined && result.firstIndex <= lastIndex) {
          failures.add(
            jobs.find((j) => j.chunk === result.chunk)!.label,
            'SERIAL_OUT_OF_ORDER',
            `serial index ${result.firstIndex} does not follow ${lastIndex} of the chunk before`,
          );
        }
        firstIndex ??= result.firstIndex;
        lastIndex = result.lastIndex;
      }
      for (const row of result.rows) {
        bundles++;
        if (!list || !listAligned) continue;
        const actual = await list.next();
        const where = `enrollment-list.csv:${list.lineNo}`;
        if (actual === undefined) {
          failures.add(where, 'ENROLLMENT_MISMATCH', 'the list ends before the bundles do');
          listAligned = false;
        } else if (row !== undefined && `${actual}\n` !== row) {
          const [name] = row.split(',');
          if (actual.split(',')[0] !== name) {
            failures.add(
              where,
              'ENROLLMENT_MISMATCH',
              `row for ${actual.split(',')[0]}, where bundle ${name} was expected; rows after this are not compared`,
            );
            listAligned = false;
          } else {
            failures.add(where, 'ENROLLMENT_MISMATCH', `row for ${name} does not match its bundle`);
          }
        }
      }
      progress.add(result.bundles);
    };
    try {
      await schedule({
        jobs,
        run: (job) => pool.run(job),
        onDone: async (result) => {
          pending.set(result.chunk, result);
          for (const job of jobs.slice(nextChunk)) {
            const ready = pending.get(job.chunk);
            if (!ready) break;
            pending.delete(job.chunk);
            nextChunk++;
            await consume(ready);
          }
        },
        maxInFlight: workers * 2,
        signal: io.signal,
      });
    } finally {
      progress.finish();
      await pool.close();
    }
    if (list && listAligned && (await list.next()) !== undefined) {
      failures.add(
        `enrollment-list.csv:${list.lineNo}`,
        'ENROLLMENT_MISMATCH',
        'rows beyond the last bundle',
      );
    }
    await list?.close();

    if (manifest) {
      if (bundles !== manifest.count)
        failures.add(
          'manifest.json',
          'COUNT_MISMATCH',
          `${bundles} bundles found, the manifest says ${manifest.count}`,
        );
      const first =
        firstIndex === undefined ? undefined : serialFor(batch.serialPrefix, firstIndex).toString('hex');
      const last =
        lastIndex === undefined ? undefined : serialFor(batch.serialPrefix, lastIndex).toString('hex');
      if (first !== manifest.serialRange.first || last !== manifest.serialRange.last) {
        failures.add(
          'manifest.json',
          'SERIAL_RANGE',
          `bundles run from ${first ?? '-'} to ${last ?? '-'}, the manifest says ${manifest.serialRange.first} to ${manifest.serialRange.last}`,
        );
      }
    }
    if (batch.source.kind === 'generate' && bundles !== batch.count) {
      failures.add(
        'batch.json',
        'COUNT_MISMATCH',
        `${bundles} bundles found, ${batch.count} were to be made`,
      );
    }
    if (failures.count > 0) {
      io.stderr.write(`batch ${batch.batchId}: ${bundles} bundles checked, ${failures.count} failure(s)\n`);
      return 1;
    }
    io.stdout.write(`batch ${batch.batchId}: ${bundles} bundles verified, no failure\n`);
    return 0;
  },
};
