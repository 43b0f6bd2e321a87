export * from './bucket-name';
export * from './object-store';
export * from './object-store-health.probe';
export * from './s3-client.factory';
export * from './storage.errors';
