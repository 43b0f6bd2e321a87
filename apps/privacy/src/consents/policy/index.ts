export * from './consent-policy';
export * from './gb-preset';
export * from './permitted-granularity';
export * from './consent-change';
