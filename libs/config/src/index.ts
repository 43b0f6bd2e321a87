export * from './env-schemas';
export * from './load-config';
export * from './value-schemas';
export * from './default-ports';
