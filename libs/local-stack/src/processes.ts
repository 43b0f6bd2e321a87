import { execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { StackError } from './settings';

const execFileAsync = promisify(execFile);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The executable's path when `name` is on the PATH (what `command -v` answers). */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function commandLineOf(pid: number): Promise<string | undefined> {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    try {
      return (await execFileAsync('ps', ['-ww', '-o', 'args=', '-p', String(pid)])).stdout;
    } catch {
      return undefined;
    }
  }
}

/** The process is alive and is the server started for this state dir (its marker on its command line). */
export async function isOurs(pid: number, marker: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const command = (await commandLineOf(pid))?.trimEnd();
  return command !== undefined && (command.includes(`${marker} `) || command.endsWith(marker));
}

/** The pid in `pidFile` when that process is our server and still running. */
export async function runningPid(pidFile: string, marker: string): Promise<number | undefined> {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!/^\d+$/.test(text)) return undefined;
  const pid = Number(text);
  return (await isOurs(pid, marker)) ? pid : undefined;
}

function connects(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Something listens on `port` (any address when `ss` can tell, else 127.0.0.1). */
export async function portListening(port: number): Promise<boolean> {
  if (onPath('ss')) {
    try {
      const { stdout } = await execFileAsync('ss', ['-Hltn', `sport = :${port}`]);
      return stdout.trim() !== '';
    } catch {
      return false;
    }
  }
  return connects(port);
}

/** The pid listening on `port`, when `ss` can tell. */
export async function portOwner(port: number): Promise<number | undefined> {
  if (!onPath('ss')) return undefined;
  try {
    const { stdout } = await execFileAsync('ss', ['-Hltnp', `sport = :${port}`]);
    const match = /pid=(\d+)/.exec(stdout);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts a server detached from us (its own session, stdin closed, output appended to `logFile`), so
 * it outlives the command or test run that started it; records its pid in `pidFile`.
 */
export function launch(
  name: string,
  pidFile: string,
  logFile: string,
  command: string,
  args: string[],
): number {
  rmSync(pidFile, { force: true });
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log] });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined)
      throw new StackError(`could not start ${name} (no pid recorded); see ${logFile}`);
    writePid(pidFile, child.pid);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function writePid(pidFile: string, pid: number): void {
  writeFileSync(pidFile, `${pid}\n`);
}

/** Runs a command to its end with its output appended to `logFile`; resolves with its exit code. */
export function runLogged(command: string, args: string[], logFile: string, append = true): Promise<number> {
  const log = openSync(logFile, append ? 'a' : 'w');
  return new Promise<number>((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', log, log] });
    child.once('error', () => resolve(127));
    child.once('exit', (code) => resolve(code ?? 1));
  }).finally(() => closeSync(log));
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}
