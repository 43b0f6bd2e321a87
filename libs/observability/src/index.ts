export * from './health';
export * from './logger';
export * from './telemetry';
export * from './service-telemetry';
export * from './metrics/catalogue';
export * from './metrics/instruments';
export { METRICS_PATH } from './metrics/prometheus-endpoint';
export * from './metrics/prometheus-text';
