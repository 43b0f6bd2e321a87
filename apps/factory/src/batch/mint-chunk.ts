import type { KeyObject } from 'node:crypto';
import { BundleChecker } from '@meterkeep/factory-bundle';
import { type Issuer, createIssuer, parseCertificate, toPem } from '@meterkeep/pki';
import { FactoryError } from '../factory.errors';
import { type BatchFile, endpointNameFor, serialFor } from './batch-file';
import { BundleLineWriter, bundledKeyCredentialJson, pskCredentialJson } from './bundle-line';
import type { ChunkResult, MintJob } from './chunk-jobs';
import { DeviceKeyFactory } from './device-keys';
import { csvRow } from './enrollment-list';
import { TextBuffer } from './text-buffer';

const PSK_BYTES = 32;

/** The first bundle of every chunk goes through the same checks `batch verify` runs, before anything is written. */
export function selfCheck(checker: BundleChecker, line: string): void {
  const { bundle, failures } = checker.inspect(line);
  if (failures.length > 0) {
    const what = failures.map((f) => `${f.code}: ${f.message}`).join('; ');
    throw new FactoryError(
      'WORKER_FAILED',
      `bundle ${bundle?.endpointName ?? ''} failed its own check: ${what}`,
    );
  }
}

/** Mints chunks in a worker: keys, certificates (or PSKs), bundle lines and enrollment rows. */
export class ChunkMinter {
  private readonly issuer: Issuer | undefined;
  private readonly keys = new DeviceKeyFactory();
  private readonly chainJson: string;
  private readonly checker: BundleChecker;
  private readonly bundles = new TextBuffer();
  private readonly rows = new TextBuffer(256 * 1024);

  constructor(
    private readonly batch: BatchFile,
    rootPem: string,
    caKey: KeyObject,
  ) {
    if (batch.source.kind !== 'generate') throw new TypeError('ChunkMinter mints generated batches only');
    const intermediate = parseCertificate(batch.ca.intermediatePem);
    this.issuer =
      batch.source.credential === 'certificate'
        ? createIssuer({ certificate: intermediate, privateKey: caKey })
        : undefined;
    this.chainJson = JSON.stringify([intermediate.pem, parseCertificate(rootPem).pem]);
    this.checker = new BundleChecker({
      manufacturerRootPem: rootPem,
      at: new Date(),
      requiredParameters: Object.keys(batch.config.customParameters),
    });
  }

  mint(job: MintJob): ChunkResult {
    const { batch } = this;
    const source = batch.source;
    if (source.kind !== 'generate') throw new TypeError('unreachable');
    const writer = new BundleLineWriter(batch, new Date());
    this.bundles.clear();
    this.rows.clear();
    const validity = batch.validity && {
      notBefore: new Date(batch.validity.notBefore),
      notAfter: new Date(batch.validity.notAfter),
    };
    const psk = Buffer.alloc(PSK_BYTES);
    for (let i = 0; i < job.count; i++) {
      const position = job.start + i;
      const name = endpointNameFor(source, position);
      const serial = serialFor(batch.serialPrefix, position);
      const serialHex = serial.toString('hex');
      let line: string;
      if (this.issuer && validity) {
        const key = this.keys.next();
        const certificate = this.issuer.issue({
          profile: 'factory-device',
          subject: { commonName: name },
          subjectPublicKey: key.spki,
          serial,
          notBefore: validity.notBefore,
          notAfter: validity.notAfter,
        });
        line = writer.line(
          name,
          serialHex,
          bundledKeyCredentialJson(toPem(key.pkcs8, 'PRIVATE KEY'), certificate.pem, this.chainJson),
        );
        key.pkcs8.fill(0);
        this.rows.append(
          csvRow([name, certificate.fingerprintSha256, batch.model, batch.batchId, batch.config.classId]),
        );
      } else {
        const pskBase64 = this.keys.random(psk).toString('base64');
        line = writer.line(name, serialHex, pskCredentialJson(name, pskBase64));
        this.rows.append(csvRow([name, name, pskBase64, batch.model, batch.batchId, batch.config.classId]));
      }
      if (i === 0) selfCheck(this.checker, line);
      this.bundles.append(line);
    }
    psk.fill(0);
    this.bundles.flushTo(job.bundlesPath, 0o600);
    this.rows.flushTo(job.enrollmentPath, 0o600);
    return { chunk: job.chunk, bundles: job.count, rejected: 0, items: job.count };
  }
}
