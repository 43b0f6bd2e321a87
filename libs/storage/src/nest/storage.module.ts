import { type DynamicModule, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ObjectStore } from '../object-store';
import { ObjectStoreHealthProbe } from '../object-store-health.probe';
import { createS3Client, type S3ClientOptions } from '../s3-client.factory';

export interface StorageModuleOptions extends S3ClientOptions {
  /** The bucket the readiness probe HEADs; without it the probe lists buckets. */
  healthBucket?: string;
}

/** The service's object store: provides ObjectStore and ObjectStoreHealthProbe everywhere. */
@Module({})
export class StorageModule implements OnApplicationShutdown {
  constructor(private readonly store: ObjectStore) {}

  static forRoot({ healthBucket, ...clientOptions }: StorageModuleOptions): DynamicModule {
    return {
      module: StorageModule,
      global: true,
      providers: [
        { provide: ObjectStore, useFactory: () => new ObjectStore(createS3Client(clientOptions)) },
        {
          provide: ObjectStoreHealthProbe,
          useFactory: (store: ObjectStore) =>
            new ObjectStoreHealthProbe(store, healthBucket ? { bucket: healthBucket } : {}),
          inject: [ObjectStore],
        },
      ],
      exports: [ObjectStore, ObjectStoreHealthProbe],
    };
  }

  // Closes the keep-alive sockets so the process can exit.
  onApplicationShutdown(): void {
    this.store.client.destroy();
  }
}
