import { findWorkspaceRoot } from './workspace-root';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { type StackEnv, stackEnvFrom } from './stack-endpoints';

const run = promisify(execFile);
const workspaceRoot = findWorkspaceRoot();
const stackScript = resolve(workspaceRoot, 'deploy/local/stack.sh');

/** Runs one subcommand of deploy/local/stack.sh and returns what it printed. */
export async function localStack(command: 'up' | 'down' | 'env' | 'status' | 'stop-kafka' | 'start-kafka') {
  try {
    const { stdout } = await run('bash', [stackScript, command], {
      cwd: workspaceRoot,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 10 * 60_000,
    });
    return stdout;
  } catch (error) {
    // `status` exits 3 when something is down: an answer, not a failure.
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (command === 'status' && failed.code === 3 && failed.stdout !== undefined) return failed.stdout;
    throw new Error(`deploy/local/stack.sh ${command} failed: ${failed.stderr?.trim() || String(error)}`, {
      cause: error,
    });
  }
}

export function parseEnvExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

export interface RunningStack {
  env: StackEnv;
  /** Where the servers came from: the caller's environment, testcontainers, or the local stack. */
  source: 'environment' | 'testcontainers' | 'local';
  stop(): Promise<void>;
}

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
 * The servers a test run talks to: endpoints from the environment when set; otherwise containers
 * when a container runtime answers; otherwise the local stack started from Maven and the machine.
 */
export async function ensureStack(env: NodeJS.ProcessEnv = process.env): Promise<RunningStack> {
  const given = stackEnvFrom(env);
  if (given) return { env: given, source: 'environment', stop: async () => {} };

  if (env.METERKEEP_USE_LOCAL_STACK !== 'true' && (await containerRuntimeAnswers())) {
    const { startContainerStack } = await import('./container-stack.js');
    return startContainerStack();
  }

  const wasUp = (await localStack('status')).split('\n').every((line) => !/\bdown\b/.test(line));
  await localStack('up');
  const stackEnv = stackEnvFrom(parseEnvExports(await localStack('env')));
  if (!stackEnv) throw new Error('deploy/local/stack.sh env did not print every endpoint');
  const keep = wasUp || env.METERKEEP_KEEP_STACK === 'true';
  return {
    env: stackEnv,
    source: 'local',
    // Leave a stack we found running as we found it.
    stop: async () => {
      if (!keep) await localStack('down');
    },
  };
}
