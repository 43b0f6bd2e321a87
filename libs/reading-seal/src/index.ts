export * from './reading-seal';
