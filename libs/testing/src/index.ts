export * from './stack-endpoints';
export * from './local-stack';
export * from './lifecycle-harness';
export * from './platform-harness';
export * from './topic-tap';
export * from './internal-call';
export * from './enrollment-process';
// The local stack's own helpers, which the harness's users have always found here.
export {
  PortInUseError,
  SERVICES,
  STACK_ENV_VARS,
  type ServiceName,
  type ServiceIdentityPems,
  type ServiceProcess,
  type StackEnv,
  WaitAborted,
  type WaitOptions,
  type InternalWiring,
  freePort,
  internalWiring,
  internalWiringAt,
  localSecrets,
  mintPlatformCa,
  mintServiceIdentity,
  parseEnvExports,
  principalEnv,
  portIsFree,
  serviceIdentity,
  stackEnvFrom,
  startServiceProcess,
  waitUntil,
} from '@meterkeep/local-stack';
