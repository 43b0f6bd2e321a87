export * from './stack-endpoints';
export * from './wait-until';
export * from './local-stack';
export * from './service-process';
export * from './lifecycle-harness';
export * from './platform-harness';
export * from './topic-tap';
