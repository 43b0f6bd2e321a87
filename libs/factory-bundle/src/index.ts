// @meterkeep/factory-bundle: the bundle a factory injects into one meter, shared by the factory CLI
// (which writes and verifies bundles) and the meter-sim (which loads them). Pure: no I/O.
export {
  BUNDLE_FORMAT,
  type BundleCredential,
  type BundledKeyCredential,
  type DeviceKeyCredential,
  type FactoryBundle,
  type PskCredential,
  batchId,
  bundleCredential,
  bundledKeyCredential,
  certificatePem,
  classId,
  customParameterName,
  customParameters,
  deviceKeyCredential,
  endpointName,
  factoryBundle,
  model,
  privateKeyPem,
  pskCredential,
  publicKeyPem,
  serialNumberHex,
  vendorId,
} from './bundle.schema.js';
export {
  BUNDLE_ERROR_CODES,
  BundleError,
  type BundleErrorCode,
  type BundleIssue,
  isBundleError,
} from './bundle.errors.js';
export { parseBundle } from './parse-bundle.js';
export {
  BUNDLE_FAILURE_CODES,
  type BundleFailure,
  type BundleFailureCode,
  BundleChecker,
  type CheckBundleOptions,
  addYears,
  checkBundle,
  inspectBundle,
} from './check-bundle.js';
