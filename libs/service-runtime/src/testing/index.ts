// Test-only helpers (`@meterkeep/service-runtime/testing`): never imported by a service's own code.
export * from './identities';
