export * from './device-directory';
export * from './device-check';
export * from './device-identities';
