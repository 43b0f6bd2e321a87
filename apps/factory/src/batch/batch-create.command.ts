import { parseArgs } from 'node:util';
import { endpointName } from '@meterkeep/factory-bundle';
import { HELP_OPTION, integer, oneOf, parseOrUsage, required } from '../cli/args';
import type { CliCommand, CliIo } from '../cli/command';
import { PASSPHRASE_ENV, caKeyDer, loadIssuingCa, passphraseFromEnv } from '../ca/ca-store';
import { usageError } from '../factory.errors';
import { type BatchFile, CHUNK_SIZE, chunkCount, endpointNameFor } from './batch-file';
import { BatchLayout } from './batch-layout';
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
import type { MintJob } from './chunk-jobs';
import { defaultWorkerCount } from './worker-pool';

const HELP = `Usage: factory batch create --count N --model M --ca DIR --out DIR [options]

Mints N meter identities: for each, a P-256 key pair and a factory certificate from the intermediate
CA (or, with --credential psk, a PSK identity and a 256-bit key), with the chain and the configuration
injected with it, as one bundle per meter in DIR/bundles/chunk-NNNNNN.jsonl (1,000 per file). Then
DIR/enrollment-list.csv for the utility and DIR/manifest.json, signed in DIR/manifest.sig.
Interrupted, the same command continues where it stopped; no serial number is ever reused.
The intermediate key's passphrase is read from ${PASSPHRASE_ENV}.

Options:
  --count N                     meters in the batch (1 to 100,000,000)
  --credential KIND             certificate (default) or psk: meters without PKI; the enrollment list
                                then carries each PSK and is written owner-only (0600)
  --prefix P                    endpoint names are <P>-<zero-padded number> (default: <model>-<batch id>)
  --first-index N               number of the first meter (default 1)
${SHARED_BATCH_HELP}`;

async function* plan(layout: BatchLayout, batch: BatchFile): AsyncGenerator<Planned<MintJob>> {
  for (let chunk = 0; chunk < chunkCount(batch); chunk++) {
    const start = chunk * batch.chunkSize;
    const count = Math.min(batch.chunkSize, batch.count - start);
    if (await layout.isChunkDone(chunk)) {
      yield { done: count };
      continue;
    }
    yield {
      job: {
        chunk,
        start,
        count,
        bundlesPath: layout.bundles(chunk),
        enrollmentPath: layout.enrollment(chunk),
        rejectedPath: layout.rejected(chunk),
      },
    };
  }
}

export const batchCreateCommand: CliCommand = {
  path: ['batch', 'create'],
  summary: 'mint a batch of meter identities, with enrollment list and signed manifest',
  help: HELP,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values } = parseOrUsage(() =>
      parseArgs({
        args: argv,
        options: {
          ...HELP_OPTION,
          ...SHARED_BATCH_OPTIONS,
          count: { type: 'string' },
          credential: { type: 'string' },
          prefix: { type: 'string' },
          'first-index': { type: 'string' },
        },
      }),
    );
    if (values.help) {
      io.stdout.write(HELP);
      return 0;
    }
    const count = integer(required(values.count, 'count'), 'count', 1, 100_000_000)!;
    const model = checkModel(values.model);
    const caDir = required(values.ca, 'ca');
    const layout = new BatchLayout(required(values.out, 'out'));
    const credential =
      oneOf(values.credential, 'credential', ['certificate', 'psk'] as const) ?? 'certificate';
    const firstIndex = integer(values['first-index'], 'first-index', 0, 1e15) ?? 1;
    const workers = integer(values.workers, 'workers', 1, 256) ?? defaultWorkerCount();
    const requestedId = checkBatchId(values['batch-id']);
    const config = await readBatchConfig(values);
    const ca = await loadIssuingCa(caDir, passphraseFromEnv(io.env));
    const statsJson = values['stats-json'] === true;

    // A new batch the intermediate cannot cover is refused before anything is written.
    if (credential === 'certificate' && !(await readExistingBatch(layout))) {
      factoryValidity(io.now(), config.expectedLifeYears, ca.intermediate);
    }
    const build = (existing: BatchFile | undefined): BatchFile => {
      const identity = batchIdentity(existing, io.now(), requestedId);
      const source = {
        kind: 'generate' as const,
        credential,
        endpointPrefix: values.prefix ?? `${model}-${identity.batchId}`,
        firstIndex,
        indexDigits: Math.max(6, String(firstIndex + count - 1).length),
      };
      for (const position of [0, count - 1]) {
        const name = endpointNameFor(source, position);
        if (!endpointName.safeParse(name).success) {
          throw usageError(`endpoint name ${JSON.stringify(name)} is not valid: choose another --prefix`);
        }
      }
      const validity =
        existing?.validity ??
        (credential === 'certificate'
          ? factoryValidity(io.now(), config.expectedLifeYears, ca.intermediate)
          : null);
      return buildBatchFile({ identity, model, count, source, validity, ca, config, chunkSize: CHUNK_SIZE });
    };

    return openBatch(layout, build, async (batch) => {
      const done = await completedManifest(layout);
      if (done) {
        if (!statsJson) io.stderr.write(`batch ${batch.batchId} is already complete\n`);
        report(io, layout, batch, done, undefined, statsJson);
        return 0;
      }
      await layout.prepare();
      const { manifest, stats } = await runBatch({
        command: 'batch create',
        layout,
        batch,
        ca,
        init: { task: 'mint', batch, rootPem: ca.root.pem, caKeyDer: caKeyDer(ca) },
        workers,
        chunksToDo: chunkCount(batch),
        total: count,
        plan: plan(layout, batch),
        io,
      });
      report(io, layout, batch, manifest, stats, statsJson);
      return 0;
    });
  },
};
