export * from './default-ports';
export * from './connection-security';
export * from './env-schemas';
export * from './load-config';
export * from './redis-key-prefixes';
export * from './service-identity';
export * from './value-schemas';
export * from './version';
