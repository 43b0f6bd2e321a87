export * from './open-local-stack';
export * from './stack-clients';
export * from './cli';
