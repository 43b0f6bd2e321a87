import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { HELP_OPTION, integer, parseOrUsage, required } from '../cli/args';
import type { CliCommand, CliIo } from '../cli/command';
import { PASSPHRASE_ENV, caKeyDer, loadIssuingCa, passphraseFromEnv } from '../ca/ca-store';
import { FactoryError, errorMessage } from '../factory.errors';
import { type BatchFile, CHUNK_SIZE, chunkCount } from './batch-file';
import { BatchLayout, exists } from './batch-layout';
import { type Planned, completedManifest, report, runBatch } from './batch-run';
import {
  SHARED_BATCH_HELP,
  SHARED_BATCH_OPTIONS,
  batchIdentity,
  buildBatchFile,
  checkBatchId,
  checkModel,
  factoryValidity,
  openBatch,
  readBatchConfig,
  readExistingBatch,
} from './batch-setup';
import type { CsrLine, SignCsrsJob } from './chunk-jobs';
import type { CsrRejection } from './sign-csr-chunk';
import { defaultWorkerCount } from './worker-pool';

const HELP = `Usage: factory batch sign-csrs --in FILE --model M --ca DIR --out DIR [options]

The stronger mode: each meter generated its own key pair and only its certificate signing request
reaches the line, so the private key never exists outside the meter. FILE is JSON Lines, one meter a
line: {"endpointName":"EM300-000001","csrPem":"-----BEGIN CERTIFICATE REQUEST-----\\n…"}.
Each CSR is verified (its signature, a P-256 key, CN equal to endpointName) and certified with the
factory-device profile. Bundles then carry the certificate and chain but no private key
(keyLocation "device"). Refused CSRs are listed with their line numbers on stderr and in
DIR/rejected.jsonl; the command then exits 1, the accepted ones issued all the same.
Interrupted, the same command continues where it stopped. Passphrase from ${PASSPHRASE_ENV}.

Options:
  --in FILE                     the CSRs, JSON Lines as above
${SHARED_BATCH_HELP}`;

/** Lines of the input file and its SHA-256, streamed. */
async function describeInput(path: string): Promise<{ lines: number; sha256: string }> {
  const hash = createHash('sha256');
  let lines = 0;
  let last = 10;
  try {
    for await (const data of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(data);
      for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) lines++;
      if (data.length > 0) last = data[data.length - 1]!;
    }
  } catch (error) {
    throw new FactoryError('INPUT_INVALID', `--in ${path}: ${errorMessage(error)}`);
  }
  return { lines: last === 10 ? lines : lines + 1, sha256: hash.digest('hex') };
}

/** Chunk k holds input lines k*chunkSize+1 … (k+1)*chunkSize, blank ones skipped: fixed boundaries, so a re-run finds the same chunks. */
async function* plan(
  layout: BatchLayout,
  batch: BatchFile,
  input: string,
): AsyncGenerator<Planned<SignCsrsJob>> {
  const reader = createInterface({ input: createReadStream(input), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  let chunk = 0;
  let lines: CsrLine[] = [];
  const flush = async (): Promise<Planned<SignCsrsJob>> => {
    const size = Math.min(batch.chunkSize, batch.count - chunk * batch.chunkSize);
    const item: Planned<SignCsrsJob> = (await layout.isChunkDone(chunk))
      ? { done: size }
      : {
          job: {
            chunk,
            lines,
            size,
            bundlesPath: layout.bundles(chunk),
            enrollmentPath: layout.enrollment(chunk),
            rejectedPath: layout.rejected(chunk),
          },
        };
    chunk++;
    lines = [];
    return item;
  };
  for await (const text of reader) {
    lineNo++;
    if (text.trim() !== '') lines.push({ lineNo, text });
    if (lineNo % batch.chunkSize === 0) yield await flush();
  }
  if (lineNo % batch.chunkSize !== 0) yield await flush();
}

/** Refused CSRs, a few on stderr (all are in rejected.jsonl). */
async function reportRejections(layout: BatchLayout, io: CliIo): Promise<number> {
  if (!(await exists(layout.rejectedReport))) return 0;
  const lines = (await readFile(layout.rejectedReport, 'utf8')).split('\n').filter((l) => l !== '');
  const shown = 50;
  for (const line of lines.slice(0, shown)) {
    const r = JSON.parse(line) as CsrRejection;
    io.stderr.write(
      `line ${r.line}${r.endpointName ? ` (${r.endpointName})` : ''}: ${r.code}: ${r.reason}\n`,
    );
  }
  if (lines.length > shown)
    io.stderr.write(`… and ${lines.length - shown} more in ${layout.rejectedReport}\n`);
  if (lines.length > 0) {
    io.stderr.write(
      `${lines.length} CSR(s) refused, listed in ${layout.rejectedReport}; the others were issued\n`,
    );
  }
  return lines.length;
}

export const batchSignCsrsCommand: CliCommand = {
  path: ['batch', 'sign-csrs'],
  summary: 'certify keys the meters generated, from their CSRs',
  help: HELP,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values } = parseOrUsage(() =>
      parseArgs({ args: argv, options: { ...HELP_OPTION, ...SHARED_BATCH_OPTIONS, in: { type: 'string' } } }),
    );
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const input = resolve(required(values.in, 'in'));
    const model = checkModel(values.model);
    const caDir = required(values.ca, 'ca');
    const layout = new BatchLayout(required(values.out, 'out'));
    const workers = integer(values.workers, 'workers', 1, 256) ?? defaultWorkerCount();
    const requestedId = checkBatchId(values['batch-id']);
    const config = await readBatchConfig(values);
    const ca = await loadIssuingCa(caDir, passphraseFromEnv(io.env));
    const statsJson = values['stats-json'] === true;
    const described = await describeInput(input);
    if (described.lines === 0) throw new FactoryError('INPUT_INVALID', `--in ${input} is empty`);

    // A new batch the intermediate cannot cover is refused before anything is written.
    if (!(await readExistingBatch(layout)))
      factoryValidity(io.now(), config.expectedLifeYears, ca.intermediate);
    const build = (existing: BatchFile | undefined): BatchFile =>
      buildBatchFile({
        identity: batchIdentity(existing, io.now(), requestedId),
        model,
        count: described.lines,
        source: { kind: 'csr', inputFile: input, inputSha256: described.sha256 },
        validity: existing?.validity ?? factoryValidity(io.now(), config.expectedLifeYears, ca.intermediate),
        ca,
        config,
        chunkSize: CHUNK_SIZE,
      });

    return openBatch(layout, build, async (batch) => {
      const done = await completedManifest(layout);
      if (done) {
        if (!statsJson) io.stderr.write(`batch ${batch.batchId} is already complete\n`);
        report(io, layout, batch, done, undefined, statsJson);
      } else {
        await layout.prepare();
        const { manifest, stats } = await runBatch({
          command: 'batch sign-csrs',
          layout,
          batch,
          ca,
          init: { task: 'sign-csrs', batch, rootPem: ca.root.pem, caKeyDer: caKeyDer(ca) },
          workers,
          chunksToDo: chunkCount(batch),
          total: described.lines,
          plan: plan(layout, batch, input),
          io,
        });
        report(io, layout, batch, manifest, stats, statsJson);
      }
      return (await reportRejections(layout, io)) > 0 ? 1 : 0;
    });
  },
};
