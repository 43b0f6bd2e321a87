export * from './redis.factory';
export * from './redis-health.probe';
