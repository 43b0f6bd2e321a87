import { BUNDLE_FORMAT } from '@meterkeep/factory-bundle';
import type { BatchFile } from './batch-file';

/**
 * Writes bundles as JSON text without building an object per meter: what every bundle of a batch
 * shares is serialised once per chunk, and each line adds only the meter's own fields. The result
 * is the same JSON a `JSON.stringify` of the bundle would give, in the schema's field order.
 */
export class BundleLineWriter {
  private readonly head = `{"format":${JSON.stringify(BUNDLE_FORMAT)},"endpointName":`;
  /** `,"batchId":…,"model":…` */
  private readonly ids: string;
  /** `,"bootstrap":…,"issuedAt":…}` */
  private readonly shared: string;

  constructor(batch: BatchFile, issuedAt: Date) {
    const { config } = batch;
    this.ids = `,"batchId":${JSON.stringify(batch.batchId)},"model":${JSON.stringify(batch.model)}`;
    this.shared = `,${JSON.stringify({
      bootstrap: { serverUri: config.bootstrapUri, trustAnchorPem: config.bootstrapTrustAnchorPem },
      vendorId: config.vendorId,
      classId: config.classId,
      updateAuthorityPublicKeyPem: config.updateAuthorityPublicKeyPem,
      customParameters: config.customParameters,
      expectedLifeYears: config.expectedLifeYears,
      issuedAt: issuedAt.toISOString(),
    }).slice(1)}`;
  }

  /** One JSONL line (with its newline). `credentialJson` is the credential object's JSON. */
  line(endpointName: string, serialHex: string, credentialJson: string): string {
    return (
      `${this.head}${JSON.stringify(endpointName)}${this.ids},"serialNumber":"${serialHex}",` +
      `"credential":${credentialJson}${this.shared}\n`
    );
  }
}

export const bundledKeyCredentialJson = (privateKeyPem: string, certificatePem: string, chainJson: string) =>
  `{"kind":"certificate","keyLocation":"bundle","privateKeyPem":${JSON.stringify(privateKeyPem)},` +
  `"certificatePem":${JSON.stringify(certificatePem)},"chainPem":${chainJson}}`;

export const deviceKeyCredentialJson = (certificatePem: string, chainJson: string) =>
  `{"kind":"certificate","keyLocation":"device","certificatePem":${JSON.stringify(certificatePem)},"chainPem":${chainJson}}`;

export const pskCredentialJson = (pskIdentity: string, pskBase64: string) =>
  `{"kind":"psk","pskIdentity":${JSON.stringify(pskIdentity)},"pskBase64":"${pskBase64}"}`;
