export * from './stack';
export * from './context';
export * from './stack-env';
export * from './settings';
export * from './local-secrets';
export * from './service-process';
export * from './wait-until';
export * from './workspace-root';
