export * from './health';
export * from './logger';
export * from './telemetry';
export * from './service-telemetry';
