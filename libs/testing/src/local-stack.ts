import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { findWorkspaceRoot } from '@meterkeep/local-stack';

const run = promisify(execFile);
const workspaceRoot = findWorkspaceRoot();
const stackScript = resolve(workspaceRoot, 'deploy/local/stack.sh');

export type StackCommand = 'up' | 'down' | 'env' | 'status' | 'stop-kafka' | 'start-kafka';

/**
 * Runs one command of deploy/local/stack.sh and returns what it printed: readiness tests stop and
 * start the broker with it. A command, not the library: the stack waits on the servers with
 * @meterkeep/kafka and the other client libraries, whose own tests use this harness.
 */
export async function localStack(command: StackCommand): Promise<string> {
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
