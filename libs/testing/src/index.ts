export * from './stack-endpoints';
export * from './local-stack';
export * from './lifecycle-harness';
export * from './platform-harness';
export * from './topic-tap';
// The local stack's own helpers, which the harness's users have always found here.
export {
  PortInUseError,
  SERVICES,
  STACK_ENV_VARS,
  type ServiceName,
  type ServiceProcess,
  type StackEnv,
  WaitAborted,
  type WaitOptions,
  freePort,
  localSecrets,
  parseEnvExports,
  principalEnv,
  portIsFree,
  stackEnvFrom,
  startServiceProcess,
  waitUntil,
} from '@meterkeep/local-stack';
