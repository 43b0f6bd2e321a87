import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createLogger, type Logger } from '@meterkeep/observability';
// Test-only use of the shared harness; the type:data-access constraint is meant for src/.
export { stackEndpoints, uniqueName, waitUntil } from '@meterkeep/testing';

/** A logger whose JSON lines land in `lines`, to assert what was logged. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'cache-test',
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, lines };
}

/** A TCP server that accepts connections and never answers: a hung server only timeouts can catch. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
