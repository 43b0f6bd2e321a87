import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { type HealthProbe, withTimeout } from '@meterkeep/observability';
import { type ObjectStore } from './object-store';

export interface ObjectStoreProbeOptions {
  /** HEAD this bucket (needs only access to it); without it, ListBuckets (needs s3:ListAllMyBuckets). */
  bucket?: string;
  timeoutMs?: number;
}

/** Ready while the S3 server answers a real, signed request within the timeout. */
export class ObjectStoreHealthProbe implements HealthProbe {
  readonly name = 's3';

  constructor(
    private readonly store: ObjectStore,
    private readonly options: ObjectStoreProbeOptions = {},
  ) {}

  async check(): Promise<void> {
    const { bucket, timeoutMs = 2_000 } = this.options;
    // Aborting frees the socket of a request that timed out (withTimeout alone would leave it).
    const controller = new AbortController();
    const abortSignal = controller.signal;
    const request = bucket
      ? this.store.bucketExists(bucket, abortSignal).then((exists) => {
          if (!exists) throw new Error(`s3: bucket ${bucket} does not exist`);
        })
      : this.store.client.send(new ListBucketsCommand({}), { abortSignal }).then(() => undefined);
    try {
      await withTimeout(request, timeoutMs, 's3');
    } finally {
      controller.abort();
    }
  }
}
