export * from './api-key';
export * from './client';
export * from './errors';
export type {
  components as EnrollmentComponents,
  operations as EnrollmentOperations,
  paths as EnrollmentPaths,
} from './generated/enrollment';
export type {
  components as PrivacyComponents,
  operations as PrivacyOperations,
  paths as PrivacyPaths,
} from './generated/privacy';
export type {
  components as OtaDistributorComponents,
  operations as OtaDistributorOperations,
  paths as OtaDistributorPaths,
} from './generated/ota-distributor';
export type { components as BootstrapComponents, paths as BootstrapPaths } from './generated/bootstrap';
