import type { KeyObject } from 'node:crypto';
import { BundleChecker, endpointName } from '@meterkeep/factory-bundle';
import { type Issuer, createIssuer, isPkiError, issueFromCsr, parseCertificate } from '@meterkeep/pki';
import { z } from 'zod';
import { errorMessage } from '../factory.errors';
import { type BatchFile, serialFor } from './batch-file';
import { BundleLineWriter, deviceKeyCredentialJson } from './bundle-line';
import type { ChunkResult, SignCsrsJob } from './chunk-jobs';
import { csvRow } from './enrollment-list';
import { selfCheck } from './mint-chunk';
import { TextBuffer } from './text-buffer';

/** One line of the `batch sign-csrs` input. */
export const csrRequest = z.strictObject({ endpointName, csrPem: z.string().max(16_384) });

/** A CSR the line refused, with where it was in the input and why. */
export interface CsrRejection {
  readonly line: number;
  readonly endpointName: string | null;
  readonly code: string;
  readonly reason: string;
}

/** Certifies meter-generated keys in a worker: each CSR verified (signature, P-256, CN = endpoint name). */
export class CsrSigner {
  private readonly issuer: Issuer;
  private readonly chainJson: string;
  private readonly checker: BundleChecker;
  private readonly bundles = new TextBuffer();
  private readonly rows = new TextBuffer(256 * 1024);
  private readonly rejections = new TextBuffer(64 * 1024);

  constructor(
    private readonly batch: BatchFile,
    rootPem: string,
    caKey: KeyObject,
  ) {
    const intermediate = parseCertificate(batch.ca.intermediatePem);
    this.issuer = createIssuer({ certificate: intermediate, privateKey: caKey });
    this.chainJson = JSON.stringify([intermediate.pem, parseCertificate(rootPem).pem]);
    this.checker = new BundleChecker({
      manufacturerRootPem: rootPem,
      at: new Date(),
      requiredParameters: Object.keys(batch.config.customParameters),
    });
  }

  sign(job: SignCsrsJob): ChunkResult {
    const { batch } = this;
    if (!batch.validity) throw new TypeError('a CSR batch has a validity window');
    const notBefore = new Date(batch.validity.notBefore);
    const notAfter = new Date(batch.validity.notAfter);
    const writer = new BundleLineWriter(batch, new Date());
    for (const buffer of [this.bundles, this.rows, this.rejections]) buffer.clear();
    let issued = 0;
    let rejected = 0;
    for (const { lineNo, text } of job.lines) {
      const reject = (name: string | null, code: string, reason: string) => {
        const rejection: CsrRejection = { line: lineNo, endpointName: name, code, reason };
        this.rejections.append(`${JSON.stringify(rejection)}\n`);
        rejected++;
      };
      let request: z.infer<typeof csrRequest>;
      try {
        const parsed = csrRequest.safeParse(JSON.parse(text));
        if (!parsed.success) {
          reject(
            null,
            'INPUT_INVALID',
            parsed.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; '),
          );
          continue;
        }
        request = parsed.data;
      } catch (error) {
        reject(null, 'INPUT_INVALID', `not JSON: ${errorMessage(error)}`);
        continue;
      }
      const serial = serialFor(batch.serialPrefix, lineNo);
      try {
        const certificate = issueFromCsr({
          issuer: this.issuer,
          csr: request.csrPem,
          expectedCommonName: request.endpointName,
          profile: 'factory-device',
          serial,
          notBefore,
          notAfter,
        });
        const line = writer.line(
          request.endpointName,
          serial.toString('hex'),
          deviceKeyCredentialJson(certificate.pem, this.chainJson),
        );
        if (issued === 0) selfCheck(this.checker, line);
        issued++;
        this.bundles.append(line);
        this.rows.append(
          csvRow([
            request.endpointName,
            certificate.fingerprintSha256,
            batch.model,
            batch.batchId,
            batch.config.classId,
          ]),
        );
      } catch (error) {
        if (!isPkiError(error)) throw error;
        reject(request.endpointName, error.code, error.message);
      }
    }
    this.rejections.flushTo(job.rejectedPath, 0o600);
    this.rows.flushTo(job.enrollmentPath, 0o600);
    this.bundles.flushTo(job.bundlesPath, 0o600);
    return { chunk: job.chunk, bundles: issued, rejected, items: job.size };
  }
}
