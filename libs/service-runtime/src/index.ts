export * from './errors/domain-error';
export * from './errors/http-exception.filter';
export * from './health/health.module';
export * from './health/readiness';
export * from './logging/nest-logger';
export * from './run-service';
export * from './platform.module';
export * from './http/zod.pipe';
