import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  addYears,
  batchId as batchIdSchema,
  classId as classIdSchema,
  customParameterName,
  factoryBundle,
  model as modelSchema,
  vendorId as vendorIdSchema,
} from '@meterkeep/factory-bundle';
import { type Certificate, importPublicKey, parseCertificate, publicKeyToPem, spkiOf } from '@meterkeep/pki';
import type { z } from 'zod';
import { integer, keyValues, required } from '../cli/args';
import { FactoryError, errorMessage, usageError } from '../factory.errors';
import type { IssuingCa } from '../ca/ca-store';
import { BATCH_FILE_FORMAT, type BatchConfig, type BatchFile, batchFile } from './batch-file';
import { type BatchLayout, writeFileAtomic } from './batch-layout';

/** Options `batch create` and `batch sign-csrs` share, as parseArgs gives them. */
export interface SharedBatchValues {
  readonly model?: string;
  readonly 'batch-id'?: string;
  readonly 'bootstrap-uri'?: string;
  readonly 'bootstrap-trust-anchor'?: string;
  readonly 'update-authority-key'?: string;
  readonly 'vendor-id'?: string;
  readonly 'class-id'?: string;
  readonly param?: string[];
  readonly 'expected-life-years'?: string;
}

export const SHARED_BATCH_OPTIONS = {
  ca: { type: 'string' },
  out: { type: 'string' },
  model: { type: 'string' },
  'batch-id': { type: 'string' },
  'bootstrap-uri': { type: 'string' },
  'bootstrap-trust-anchor': { type: 'string' },
  'update-authority-key': { type: 'string' },
  'vendor-id': { type: 'string' },
  'class-id': { type: 'string' },
  param: { type: 'string', multiple: true },
  'expected-life-years': { type: 'string' },
  workers: { type: 'string' },
  'stats-json': { type: 'boolean' },
} as const;

export const SHARED_BATCH_HELP = `  --ca DIR                      the CA from \`ca init\` (only the intermediate key is used)
  --out DIR                     the batch directory (created 0700); re-run the same command to resume
  --model M                     meter model, in every bundle and enrollment row
  --bootstrap-uri URL           the bootstrap server (https://…)
  --bootstrap-trust-anchor FILE PEM certificate the bootstrap server's TLS certificate chains to
  --update-authority-key FILE   PEM public key (P-256) firmware manifests must be signed with
  --vendor-id ID, --class-id ID firmware vendor and device class identifiers
  --param KEY=VALUE             a custom parameter for every meter (repeatable)
  --expected-life-years N       the meters' service life; certificates must cover it (default 15)
  --batch-id ID                 default: <yyyymmdd>-<8 random hex digits>
  --workers N                   worker threads (default: the machine's available parallelism)
  --stats-json                  print run statistics as one JSON line on stdout instead of the summary
  -h, --help                    this help
`;

/** Certificates outlive the expected life by this much, when the intermediate allows. */
const VALIDITY_MARGIN_YEARS = 1;

function check<T>(schema: z.ZodType<T>, value: string, option: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw usageError(`--${option} ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

async function readInput(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new FactoryError('INPUT_INVALID', `--${option} ${path}: ${errorMessage(error)}`);
  }
}

/** The configuration every bundle carries, from the command line (files read and normalised). */
export async function readBatchConfig(values: SharedBatchValues): Promise<BatchConfig> {
  const bootstrapUri = check(
    factoryBundle.shape.bootstrap.shape.serverUri,
    required(values['bootstrap-uri'], 'bootstrap-uri'),
    'bootstrap-uri',
  );
  const anchorFile = required(values['bootstrap-trust-anchor'], 'bootstrap-trust-anchor');
  let trustAnchor: Certificate;
  try {
    trustAnchor = parseCertificate(await readInput(anchorFile, 'bootstrap-trust-anchor'));
  } catch (error) {
    if (error instanceof FactoryError) throw error;
    throw new FactoryError('INPUT_INVALID', `--bootstrap-trust-anchor ${anchorFile}: ${errorMessage(error)}`);
  }
  const keyFile = required(values['update-authority-key'], 'update-authority-key');
  let updateKeyPem: string;
  try {
    updateKeyPem = publicKeyToPem(spkiOf(importPublicKey(await readInput(keyFile, 'update-authority-key'))));
  } catch (error) {
    if (error instanceof FactoryError) throw error;
    throw new FactoryError('INPUT_INVALID', `--update-authority-key ${keyFile}: ${errorMessage(error)}`);
  }
  const customParameters = keyValues(values.param, 'param');
  for (const name of Object.keys(customParameters)) check(customParameterName, name, 'param');
  return {
    bootstrapUri,
    bootstrapTrustAnchorPem: trustAnchor.pem,
    updateAuthorityPublicKeyPem: updateKeyPem,
    vendorId: check(vendorIdSchema, required(values['vendor-id'], 'vendor-id'), 'vendor-id'),
    classId: check(classIdSchema, required(values['class-id'], 'class-id'), 'class-id'),
    customParameters,
    expectedLifeYears: integer(values['expected-life-years'], 'expected-life-years', 1, 50) ?? 15,
  };
}

/**
 * The factory certificates' window: from now for the expected life plus a margin, cut at the
 * intermediate's own end. When even the life itself does not fit, the batch is refused.
 */
export function factoryValidity(
  now: Date,
  lifeYears: number,
  intermediate: Certificate,
): { notBefore: string; notAfter: string } {
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const lifeEnd = addYears(notBefore, lifeYears);
  if (intermediate.notAfter.getTime() < lifeEnd.getTime()) {
    throw new FactoryError(
      'LIFETIME_NOT_COVERED',
      `the intermediate CA expires ${intermediate.notAfter.toISOString()}, before a meter made now reaches ` +
        `its ${lifeYears}-year life (${lifeEnd.toISOString()}): issue a new intermediate or lower --expected-life-years`,
    );
  }
  const wanted = addYears(notBefore, lifeYears + VALIDITY_MARGIN_YEARS);
  const notAfter = wanted.getTime() <= intermediate.notAfter.getTime() ? wanted : intermediate.notAfter;
  return { notBefore: notBefore.toISOString(), notAfter: notAfter.toISOString() };
}

/** What identifies a new batch; on a re-run these come from batch.json instead. */
export interface BatchIdentity {
  readonly batchId: string;
  readonly serialPrefix: string;
  readonly createdAt: string;
}

/** A new batch's identity, or on a re-run the one batch.json holds (a given --batch-id must then match). */
export function batchIdentity(
  existing: BatchFile | undefined,
  now: Date,
  requestedId: string | undefined,
): BatchIdentity {
  if (existing) {
    const { batchId, serialPrefix, createdAt } = existing;
    return { batchId: requestedId ?? batchId, serialPrefix, createdAt };
  }
  return newBatchIdentity(now, requestedId);
}

function newBatchIdentity(now: Date, requestedId: string | undefined): BatchIdentity {
  const prefix = randomBytes(8);
  prefix[0] = (prefix[0]! & 0x3f) | 0x40; // 0x40–0x7f: positive, never a leading zero
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return {
    batchId: requestedId ?? `${day}-${randomBytes(4).toString('hex')}`,
    serialPrefix: prefix.toString('hex'),
    createdAt: now.toISOString(),
  };
}

export function checkBatchId(value: string | undefined): string | undefined {
  return value === undefined ? undefined : check(batchIdSchema, value, 'batch-id');
}

export function checkModel(value: string | undefined): string {
  return check(modelSchema, required(value, 'model'), 'model');
}

export async function readExistingBatch(layout: BatchLayout): Promise<BatchFile | undefined> {
  let text: string;
  try {
    text = await readFile(layout.batchFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return batchFile.parse(JSON.parse(text));
  } catch (error) {
    throw new FactoryError(
      'BATCH_INVALID',
      `${layout.batchFile} is not a batch file: ${errorMessage(error)}`,
    );
  }
}

/** Dotted paths where two plain JSON values differ. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((key) =>
      differences(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        path ? `${path}.${key}` : key,
      ),
    );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

/**
 * A re-run continues the batch only when asked for the same thing: same model, count, source,
 * configuration and CA. Anything else would mix two batches under one manifest.
 */
export function assertSameBatch(existing: BatchFile, requested: BatchFile, dir: string): void {
  const comparable = (b: BatchFile) => ({
    batchId: b.batchId,
    model: b.model,
    count: b.count,
    source: b.source,
    config: b.config,
    ca: { intermediateSha256: b.ca.intermediateSha256, rootSha256: b.ca.rootSha256 },
  });
  const differing = differences(comparable(existing), comparable(requested));
  if (differing.length > 0) {
    throw new FactoryError(
      'BATCH_CONFLICT',
      `${dir} holds batch ${existing.batchId}, begun with different ${differing.join(', ')}: ` +
        're-run with the same options to continue it, or choose another --out',
    );
  }
}

/** Assembles and validates batch.json's content. */
export function buildBatchFile(parts: {
  identity: BatchIdentity;
  model: string;
  count: number;
  source: BatchFile['source'];
  validity: BatchFile['validity'];
  ca: IssuingCa;
  config: BatchConfig;
  chunkSize: number;
}): BatchFile {
  return batchFile.parse({
    format: BATCH_FILE_FORMAT,
    batchId: parts.identity.batchId,
    model: parts.model,
    count: parts.count,
    source: parts.source,
    chunkSize: parts.chunkSize,
    serialPrefix: parts.identity.serialPrefix,
    createdAt: parts.identity.createdAt,
    validity: parts.validity,
    ca: {
      intermediatePem: parts.ca.intermediate.pem,
      intermediateSha256: parts.ca.intermediate.fingerprintSha256,
      rootSha256: parts.ca.root.fingerprintSha256,
    },
    config: parts.config,
  });
}

export async function writeBatchFile(layout: BatchLayout, batch: BatchFile): Promise<void> {
  await writeFileAtomic(layout.batchFile, `${JSON.stringify(batch, null, 2)}\n`, 0o644);
}

/**
 * Opens the batch directory for writing: takes its lock, then writes batch.json for a new batch, or
 * checks that a re-run asks for the batch begun there. `build` receives the batch found (on a re-run),
 * to take its identity and validity from; `use` runs with the lock held.
 */
export async function openBatch<T>(
  layout: BatchLayout,
  build: (existing: BatchFile | undefined) => BatchFile,
  use: (batch: BatchFile) => Promise<T>,
): Promise<T> {
  await layout.prepareDir();
  const unlock = await layout.lock();
  try {
    const existing = await readExistingBatch(layout);
    const batch = build(existing);
    if (existing) assertSameBatch(existing, batch, layout.dir);
    else await writeBatchFile(layout, batch);
    return await use(batch);
  } finally {
    await unlock();
  }
}
