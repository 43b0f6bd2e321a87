export * from './internal-http-client';
export * from './service-credential';
export * from './upstream-unavailable.error';
