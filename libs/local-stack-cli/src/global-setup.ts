import { stackEnvFrom } from '@meterkeep/local-stack';
import { openLocalStack } from './open-local-stack';

/**
 * Vitest global setup for the integration and end-to-end projects, after libs/testing's: when neither
 * the environment nor containers gave the run its servers, the local stack does (started where it is
 * not running, and stopped at the end unless it was already up or METERKEEP_KEEP_STACK=true).
 */
export default async function setup() {
  if (stackEnvFrom(process.env)) return;
  const stack = openLocalStack();
  const wasUp = (await stack.status()).every((component) => component.up);
  await stack.up();
  // Test workers start after this point and inherit the endpoints from the environment.
  Object.assign(process.env, stack.env());
  // A second tier in the same run finds the first one's endpoints: keep where they came from.
  process.env.METERKEEP_STACK_SOURCE ??= 'local';
  const keep = wasUp || process.env.METERKEEP_KEEP_STACK === 'true';
  return async () => {
    // Leave a stack we found running as we found it.
    if (!keep) await stack.down();
  };
}
