import { NestFactory } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { ObjectStore, ObjectStoreHealthProbe } from '../src';
import { StorageModule } from '../src/nest';
import { deleteBucket, stackEndpoints, uniqueName } from './storage-test-helpers';

describe('StorageModule (real S3Proxy)', () => {
  it('provides ObjectStore and a probe on the configured bucket', async () => {
    const bucket = uniqueName('mk-test');
    const app = await NestFactory.createApplicationContext(
      StorageModule.forRoot({ ...stackEndpoints().s3, healthBucket: bucket }),
      {
        logger: false,
      },
    );
    const store = app.get(ObjectStore);
    const probe = app.get(ObjectStoreHealthProbe);
    try {
      await expect(probe.check()).rejects.toThrow(/does not exist/);
      await store.ensureBucket(bucket);
      await expect(probe.check()).resolves.toBeUndefined();
    } finally {
      await deleteBucket(store.client, bucket);
      await app.close();
    }
  });
});
