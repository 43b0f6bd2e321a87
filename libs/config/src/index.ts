export * from './default-ports';
export * from './env-schemas';
export * from './load-config';
export * from './service-identity';
export * from './value-schemas';
export * from './version';
