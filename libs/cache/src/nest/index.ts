export * from './cache.module';
export * from './cache.tokens';
