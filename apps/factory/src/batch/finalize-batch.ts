import { createHash, type KeyObject } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { FactoryError } from '../factory.errors';
import { type BatchFile, chunkCount, credentialOf } from './batch-file';
import { type BatchLayout, tmp, writeFileAtomic } from './batch-layout';
import { ENROLLMENT_LIST_MODE, enrollmentHeader } from './enrollment-list';
import { type BatchManifest, MANIFEST_FORMAT, signManifest } from './manifest';

interface Concatenated {
  readonly sha256: string;
  readonly rows: number;
}

/** Concatenates chunk parts in order into one file (written atomically), hashing and counting lines. */
async function concatenate(
  target: string,
  header: string,
  parts: readonly string[],
  mode: number,
): Promise<Concatenated> {
  const hash = createHash('sha256');
  let rows = 0;
  const handle = await open(tmp(target), 'w', mode);
  try {
    const write = async (data: Buffer) => {
      hash.update(data);
      for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) rows++;
      await handle.write(data);
    };
    if (header) {
      await write(Buffer.from(header));
      rows--;
    }
    for (const part of parts) await write(await readFile(part));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp(target), target);
  return { sha256: hash.digest('hex'), rows };
}

/** serialNumber of the first (or last) bundle in the batch, read from the chunk files' ends. */
async function boundarySerial(
  layout: BatchLayout,
  chunks: readonly number[],
  which: 'first' | 'last',
): Promise<string | undefined> {
  for (const chunk of which === 'first' ? chunks : [...chunks].reverse()) {
    const text = await readFile(layout.bundles(chunk), 'utf8');
    const lines = text.split('\n').filter((line) => line !== '');
    const line = which === 'first' ? lines[0] : lines[lines.length - 1];
    if (line !== undefined) return (JSON.parse(line) as { serialNumber: string }).serialNumber;
  }
  return undefined;
}

/**
 * Once every chunk is done: the enrollment list (and, for CSRs, the rejection report), then the
 * signed manifest. manifest.json appears last and marks the batch complete; the per-chunk
 * enrollment parts are deleted only after it, so an interruption anywhere here can be re-run.
 */
export async function finalizeBatch(
  layout: BatchLayout,
  batch: BatchFile,
  signingKey: KeyObject,
  now: Date,
): Promise<BatchManifest> {
  const chunks = Array.from({ length: chunkCount(batch) }, (_, i) => i);
  const credential = credentialOf(batch);
  const list = await concatenate(
    layout.enrollmentList,
    enrollmentHeader(credential),
    chunks.map((chunk) => layout.enrollment(chunk)),
    ENROLLMENT_LIST_MODE[credential],
  );
  if (batch.source.kind === 'csr') {
    await concatenate(
      layout.rejectedReport,
      '',
      chunks.map((chunk) => layout.rejected(chunk)),
      0o600,
    );
  }
  if (list.rows === 0)
    throw new FactoryError('INPUT_INVALID', 'no meter was issued a credential: nothing to sign');
  const first = await boundarySerial(layout, chunks, 'first');
  const last = await boundarySerial(layout, chunks, 'last');
  if (!first || !last)
    throw new FactoryError('BATCH_INVALID', 'bundles and enrollment list disagree: no bundle found');

  const manifest: BatchManifest = {
    format: MANIFEST_FORMAT,
    batchId: batch.batchId,
    model: batch.model,
    credential,
    keyLocation: credential === 'psk' ? null : batch.source.kind === 'generate' ? 'bundle' : 'device',
    count: list.rows,
    serialRange: { first, last },
    ca: { intermediateSha256: batch.ca.intermediateSha256, rootSha256: batch.ca.rootSha256 },
    enrollmentList: { file: basename(layout.enrollmentList), sha256: list.sha256, rows: list.rows },
    createdAt: now.toISOString(),
  };
  const { bytes, signature } = signManifest(manifest, signingKey);
  await writeFileAtomic(layout.manifestSignature, signature, 0o644);
  await writeFileAtomic(layout.manifest, bytes, 0o644);
  await rm(layout.enrollmentDir, { recursive: true, force: true });
  await rm(layout.rejectedDir, { recursive: true, force: true });
  return manifest;
}
