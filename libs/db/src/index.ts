export * from './database.factory';
export * from './db.errors';
export * from './migration.runner';
export * from './postgres-health.probe';
export * from './schema-name';
export * from './notification-listener';
