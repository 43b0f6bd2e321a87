export * from './reading-seal';
export * from './release-seal';
