import { stackEnvFrom } from '@meterkeep/local-stack';

async function containerRuntimeAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * Vitest global setup for the integration and end-to-end projects, first of two: the servers come from
 * the environment when it names them all, else from containers when a container runtime answers (and
 * METERKEEP_USE_LOCAL_STACK is not true). Otherwise the next setup, libs/local-stack-cli's, starts
 * the local stack.
 */
export default async function setup() {
  if (stackEnvFrom(process.env)) {
    process.env.METERKEEP_STACK_SOURCE ??= 'environment';
    return;
  }
  if (process.env.METERKEEP_USE_LOCAL_STACK === 'true' || !(await containerRuntimeAnswers())) return;
  const { startContainerStack } = await import('./container-stack.js');
  const stack = await startContainerStack();
  // Test workers start after this point and inherit the endpoints from the environment.
  Object.assign(process.env, stack.env);
  process.env.METERKEEP_STACK_SOURCE ??= stack.source;
  return () => stack.stop();
}
