import { rmSync } from 'node:fs';
import type { StackContext } from './context';
import { isOurs, portListening, portOwner, runningPid, waitForExit, writePid } from './processes';
import { StackError } from './settings';

export interface OwnServer {
  pidFile: string;
  /** On the server's command line: tells our server from another process with a recycled pid. */
  marker: string;
}

/**
 * Our server is not running per its pid file, so `port` must be free. If the listener is our own
 * server whose pid file was lost, adopt it: record its pid again and return it.
 */
export async function adoptOrRequireFree(
  port: number,
  variable: string,
  server: OwnServer,
): Promise<number | undefined> {
  if (!(await portListening(port))) return undefined;
  const owner = await portOwner(port);
  if (owner !== undefined && (await isOurs(owner, server.marker))) {
    writePid(server.pidFile, owner);
    return owner;
  }
  throw new StackError(`port ${port} is in use by another process; set ${variable} to a free port`);
}

/** SIGTERM, up to 60 s for a clean exit, then SIGKILL. */
export async function stopServer(context: StackContext, name: string, server: OwnServer): Promise<void> {
  const pid = await runningPid(server.pidFile, server.marker);
  if (pid === undefined) {
    rmSync(server.pidFile, { force: true });
    context.say(`${name} is not running`);
    return;
  }
  context.say(`stopping ${name} (pid ${pid}) ...`);
  signal(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 60_000))) {
    context.say(`${name} did not exit within 60 s; killing it`);
    signal(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }
  rmSync(server.pidFile, { force: true });
  context.say(`${name} stopped`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
