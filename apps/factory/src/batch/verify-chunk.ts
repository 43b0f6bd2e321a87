import { readFileSync } from 'node:fs';
import { BundleChecker, type FactoryBundle } from '@meterkeep/factory-bundle';
import { fingerprintSha256, fromPem } from '@meterkeep/pki';
import { type BatchFile, credentialOf, endpointNameFor, indexOfSerial, serialFor } from './batch-file';
import type { VerifyFailure, VerifyJob, VerifyResult } from './chunk-jobs';
import { csvRow } from './enrollment-list';

function fingerprintOfPem(pem: string): string | undefined {
  try {
    return fingerprintSha256(fromPem(pem, 'CERTIFICATE'));
  } catch {
    return undefined;
  }
}

/** The configuration a bundle must carry, field by field, as this batch set it. */
function configMismatches(bundle: FactoryBundle, batch: BatchFile): string[] {
  const { config } = batch;
  const expected: [string, unknown, unknown][] = [
    ['bootstrap.serverUri', bundle.bootstrap.serverUri, config.bootstrapUri],
    ['bootstrap.trustAnchorPem', bundle.bootstrap.trustAnchorPem, config.bootstrapTrustAnchorPem],
    ['vendorId', bundle.vendorId, config.vendorId],
    ['classId', bundle.classId, config.classId],
    ['updateAuthorityPublicKeyPem', bundle.updateAuthorityPublicKeyPem, config.updateAuthorityPublicKeyPem],
    ['expectedLifeYears', bundle.expectedLifeYears, config.expectedLifeYears],
  ];
  const differing = expected.filter(([, actual, wanted]) => actual !== wanted).map(([field]) => field);
  for (const [name, value] of Object.entries(config.customParameters)) {
    const actual = bundle.customParameters[name];
    if (actual !== undefined && actual !== value) differing.push(`customParameters.${name}`);
  }
  return differing;
}

/** `batch verify` in a worker: one chunk file, every bundle through checkBundle and the batch's own rules. */
export class ChunkVerifier {
  private readonly checker: BundleChecker;
  private readonly fingerprints = new Map<string, string | undefined>();

  constructor(
    private readonly batch: BatchFile,
    rootPem: string,
    at: Date,
  ) {
    this.checker = new BundleChecker({
      manufacturerRootPem: rootPem,
      at,
      requiredParameters: Object.keys(batch.config.customParameters),
    });
  }

  verify(job: VerifyJob): VerifyResult {
    const { batch } = this;
    const text = readFileSync(job.path, 'utf8');
    const lines = text.split('\n');
    const failures: VerifyFailure[] = [];
    if (text.endsWith('\n') || text === '') lines.pop();
    else
      failures.push({
        where: job.label,
        code: 'CHUNK_TRUNCATED',
        message: 'the last line is not complete: the file was cut short',
      });

    const generated = batch.source.kind === 'generate' ? batch.source : undefined;
    const firstPosition = job.chunk * batch.chunkSize;
    if (generated) {
      const expected = Math.min(batch.chunkSize, batch.count - firstPosition);
      if (lines.length !== expected) {
        failures.push({
          where: job.label,
          code: 'COUNT_MISMATCH',
          message: `${lines.length} bundles, ${expected} expected`,
        });
      }
    }
    const credential = credentialOf(batch);
    const keyLocation = generated ? 'bundle' : 'device';
    const rows: (string | undefined)[] = [];
    const intermediates = new Set<string>();
    let firstIndex: number | undefined;
    let lastIndex: number | undefined;

    lines.forEach((line, i) => {
      const { bundle, failures: found } = this.checker.inspect(line);
      const where = `${job.label}:${i + 1}${bundle ? ` (${bundle.endpointName})` : ''}`;
      const fail = (code: string, message: string) => failures.push({ where, code, message });
      for (const failure of found) fail(failure.code, failure.message);
      if (!bundle) {
        rows.push(undefined);
        return;
      }
      if (bundle.batchId !== batch.batchId)
        fail('BATCH_MISMATCH', `batch id ${bundle.batchId}, not ${batch.batchId}`);
      if (bundle.model !== batch.model) fail('BATCH_MISMATCH', `model ${bundle.model}, not ${batch.model}`);
      const kind = bundle.credential.kind === 'psk' ? 'psk' : 'certificate';
      if (
        kind !== credential ||
        (bundle.credential.kind === 'certificate' && bundle.credential.keyLocation !== keyLocation)
      ) {
        fail(
          'BATCH_MISMATCH',
          `a ${kind} credential in a ${credential} batch whose keys are made in the ${keyLocation === 'bundle' ? 'factory' : 'meters'}`,
        );
      }
      const differing = configMismatches(bundle, batch);
      if (differing.length > 0)
        fail('CONFIG_MISMATCH', `differs from the batch's configuration: ${differing.join(', ')}`);

      const index = indexOfSerial(batch.serialPrefix, bundle.serialNumber);
      if (index === undefined) {
        fail(
          'SERIAL_FOREIGN',
          `serial ${bundle.serialNumber} is not one of this batch's (prefix ${batch.serialPrefix})`,
        );
      } else {
        if (lastIndex !== undefined && index <= lastIndex) {
          fail(
            'SERIAL_OUT_OF_ORDER',
            `serial index ${index} does not follow ${lastIndex}: duplicated or reordered`,
          );
        }
        firstIndex ??= index;
        lastIndex = index;
      }
      if (generated) {
        const position = firstPosition + i;
        const name = endpointNameFor(generated, position);
        if (bundle.endpointName !== name)
          fail('ENDPOINT_NAME_UNEXPECTED', `bundle ${position + 1} of the batch should be ${name}`);
        const serial = serialFor(batch.serialPrefix, position).toString('hex');
        if (bundle.serialNumber !== serial)
          fail('SERIAL_UNEXPECTED', `bundle ${position + 1} of the batch should have serial ${serial}`);
      }

      if (bundle.credential.kind === 'psk') {
        const { pskIdentity, pskBase64 } = bundle.credential;
        rows.push(
          csvRow([bundle.endpointName, pskIdentity, pskBase64, bundle.model, bundle.batchId, bundle.classId]),
        );
        return;
      }
      const fingerprint = fingerprintOfPem(bundle.credential.certificatePem);
      rows.push(
        fingerprint &&
          csvRow([bundle.endpointName, fingerprint, bundle.model, bundle.batchId, bundle.classId]),
      );
      const intermediatePem = bundle.credential.chainPem[0]!;
      if (!this.fingerprints.has(intermediatePem))
        this.fingerprints.set(intermediatePem, fingerprintOfPem(intermediatePem));
      const intermediate = this.fingerprints.get(intermediatePem);
      if (intermediate) intermediates.add(intermediate);
    });
    return {
      chunk: job.chunk,
      bundles: lines.length,
      failures,
      rows,
      firstIndex,
      lastIndex,
      intermediates: [...intermediates],
    };
  }
}
