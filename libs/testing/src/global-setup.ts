import { ensureStack } from './local-stack';

/** Vitest global setup for the integration and end-to-end projects: one stack per run. */
export default async function setup() {
  const stack = await ensureStack();
  // Test workers start after this point and inherit the endpoints from the environment.
  Object.assign(process.env, stack.env);
  // A second tier in the same run finds the first one's endpoints: keep where they came from.
  process.env.METERKEEP_STACK_SOURCE ??= stack.source;
  return () => stack.stop();
}
