import { DEFAULT_PORTS, INTERNAL_PORTS, type InternalService, type ServiceName } from '@meterkeep/config';
import { serviceIdentity } from './platform-pki';
import { findWorkspaceRoot } from './workspace-root';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { principalEnv } from './stack-credentials';
import { WaitAborted, waitUntil } from './wait-until';

const workspaceRoot = findWorkspaceRoot();

/** The five services, with the ports they listen on by default. */
export const SERVICES = (Object.keys(DEFAULT_PORTS.services) as ServiceName[]).map((name) => ({
  name,
  port: DEFAULT_PORTS.services[name],
}));
export type { ServiceName };

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly service: string,
  ) {
    super(
      `port ${port} for ${service} is already in use by another process; stop that process and try again`,
    );
    this.name = 'PortInUseError';
  }
}

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(port, host, () => server.close(() => resolvePromise(true)));
  });
}

/**
 * Ports for services under test come from 20000-28999: below the kernel's ephemeral range
 * (32768-60999), so an outgoing connection (to Kafka, PostgreSQL…) cannot take one between the
 * moment it is chosen and the moment a service listens on it; and never the same one twice in a
 * process. The local stack's own ports (19xxx, 29xxx) lie outside it.
 */
const TEST_PORTS = { from: 20_000, to: 29_000 };
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = TEST_PORTS.from + Math.floor(Math.random() * (TEST_PORTS.to - TEST_PORTS.from));
    if (handedOut.has(port) || !(await portIsFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${TEST_PORTS.from}-${TEST_PORTS.to - 1}`);
}

/**
 * The internal listeners of one platform (mutual TLS, internal routes only): the port of each
 * service that serves internal routes, and the *_INTERNAL_URL variables its callers read. Give the
 * same wiring to every startServiceProcess of the platform; it sets each one's INTERNAL_PORT.
 */
export interface InternalWiring {
  ports: Record<InternalService, number>;
  urls: { ENROLLMENT_INTERNAL_URL: string; BOOTSTRAP_INTERNAL_URL: string; PRIVACY_INTERNAL_URL: string };
}

/** The wiring at these ports (the demo: the default ones, INTERNAL_PORTS). */
export function internalWiringAt(ports: Record<InternalService, number>): InternalWiring {
  const url = (service: InternalService) => `https://127.0.0.1:${ports[service]}`;
  return {
    ports,
    urls: {
      ENROLLMENT_INTERNAL_URL: url('enrollment'),
      BOOTSTRAP_INTERNAL_URL: url('bootstrap'),
      PRIVACY_INTERNAL_URL: url('privacy'),
    },
  };
}

/** The wiring at free ports (tests and benches, beside other runs). */
export async function internalWiring(): Promise<InternalWiring> {
  const ports = {} as Record<InternalService, number>;
  for (const service of Object.keys(INTERNAL_PORTS) as InternalService[]) ports[service] = await freePort();
  return internalWiringAt(ports);
}

export interface ReadyReport {
  status: string;
  checks: { name: string; ok: boolean; latencyMs: number; error?: string }[];
}

export interface ServiceProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Settles when the process ends, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readiness(): Promise<{ httpStatus: number; body: ReadyReport }>;
  waitReady(timeoutMs?: number): Promise<ReadyReport>;
  /** Sends SIGTERM and waits for the exit. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartServiceOptions {
  name: ServiceName;
  port: number;
  env: Record<string, string>;
  /** Where the service's JSON log lines go; inherited stdio when unset. */
  logFile?: string;
  /** The platform's internal listeners: this service's INTERNAL_PORT and its peers' URLs. */
  internal?: InternalWiring;
}

function internalEnv(name: ServiceName, wiring: InternalWiring | undefined): Record<string, string> {
  if (!wiring) return {};
  const port = (wiring.ports as Partial<Record<ServiceName, number>>)[name];
  return { ...wiring.urls, ...(port !== undefined && { INTERNAL_PORT: String(port) }) };
}

/**
 * Runs a built service (`npm run build`) as its own process, as Kubernetes would, with its own
 * identity from the local platform CA (SERVICE_TLS_CERT_FILE and the like) and the internal wiring
 * given; `env` may override either.
 */
export async function startServiceProcess({
  name,
  port,
  internal,
  env,
  logFile,
}: StartServiceOptions): Promise<ServiceProcess> {
  const entry = resolve(workspaceRoot, 'dist/apps', name, 'src/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
  if (!(await portIsFree(port))) throw new PortInUseError(port, name);

  const child = spawn(process.execPath, ['--enable-source-maps', entry], {
    cwd: workspaceRoot,
    // Each service connects to the stack as itself (its Kafka and Redis users, its platform
    // identity for internal calls); `env` may override.
    env: {
      ...process.env,
      ...principalEnv(name, { ...process.env, ...env }),
      ...serviceIdentity(name),
      ...internalEnv(name, internal),
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: logFile ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
  });
  if (logFile) {
    mkdirSync(dirname(logFile), { recursive: true });
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;

  const readiness = async () => {
    const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
    return { httpStatus: response.status, body: (await response.json()) as ReadyReport };
  };

  return {
    name,
    port,
    url,
    child,
    exited,
    readiness,
    waitReady: async (timeoutMs = 60_000) => {
      let ended = false;
      void exited.then(() => (ended = true));
      return waitUntil(
        async () => {
          if (ended)
            throw new WaitAborted(`${name} exited before it was ready${logFile ? `; see ${logFile}` : ''}`);
          const { httpStatus, body } = await readiness();
          return httpStatus === 200 ? body : undefined;
        },
        { timeoutMs, intervalMs: 250, description: `${name} to be ready` },
      );
    },
    stop: async (timeoutMs = 20_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
