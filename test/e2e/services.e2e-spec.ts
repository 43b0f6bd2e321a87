import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  internalWiring,
  localSecrets,
  localStack,
  SERVICES,
  serviceIdentity,
  type ServiceProcess,
  stackEndpoints,
  startServiceProcess,
  waitUntil,
} from '@meterkeep/testing';

const logDir = join(tmpdir(), `meterkeep-e2e-${process.pid}`);
const logFile = (name: string) => join(logDir, `${name}.log`);
const stackEnv = () => {
  const stack = stackEndpoints();
  return {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: stack.redisUrl,
    S3_ENDPOINT: stack.s3.endpoint,
    S3_REGION: stack.s3.region,
    S3_ACCESS_KEY_ID: stack.s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: String(stack.s3.forcePathStyle),
    ...localSecrets(),
    LOG_LEVEL: 'debug',
  };
};
const expectedChecks: Record<string, string[]> = {
  enrollment: ['kafka', 'postgres'],
  bootstrap: ['kafka', 'postgres', 'redis'],
  // Besides its stores, the ingest waits for its directory, its key ring and its device listener.
  'telemetry-ingest': ['device-listener', 'directory', 'kafka', 'key-ring', 'redis'],
  // The distributor and privacy also wait until they follow API-key revocations; the distributor, like
  // the ingest, for its device directory and its meters' listener too.
  'ota-distributor': ['api-key-revocations', 'device-listener', 'directory', 'kafka', 'postgres', 's3'],
  privacy: ['api-key-revocations', 'kafka', 'postgres', 's3'],
};

describe('the five services on the real stack', () => {
  const running = new Map<string, ServiceProcess>();

  beforeAll(async () => {
    const ports = new Map<string, number>();
    for (const { name } of SERVICES) ports.set(name, await freePort());
    // The services call each other's internal listeners (mutual TLS), and listen for devices on ports
    // of their own.
    const internal = await internalWiring();
    const wiring = {
      BOOTSTRAP_TLS_PORT: String(await freePort()),
      TELEMETRY_TLS_PORT: String(await freePort()),
    };
    for (const { name } of SERVICES) {
      running.set(
        name,
        await startServiceProcess({
          name,
          port: ports.get(name)!,
          env: { ...stackEnv(), ...wiring },
          internal,
          logFile: logFile(name),
        }),
      );
    }
    await Promise.all([...running.values()].map((service) => service.waitReady(90_000)));
  });

  afterAll(async () => {
    await Promise.all([...running.values()].map((service) => service.stop()));
  });

  it.each(SERVICES.map((s) => s.name))(
    '%s is live, and ready with every store it uses answering',
    async (name) => {
      const service = running.get(name)!;
      const live = await fetch(`${service.url}/health/live`);
      expect(live.status).toBe(200);
      const { httpStatus, body } = await service.readiness();
      expect(httpStatus).toBe(200);
      expect(body.checks.map((c) => c.name).sort()).toEqual(expectedChecks[name]);
      expect(body.checks.every((c) => c.ok)).toBe(true);
    },
  );

  // The operators' APIs as clients see them: a route, schema or status changed in the code must show
  // up as a change to the committed document (regenerate: OPENAPI_UPDATE=1 on this test, then review).
  it.each(['bootstrap', 'enrollment', 'ota-distributor', 'privacy'])(
    '%s serves the OpenAPI document committed beside it (apps/<service>/openapi.json)',
    async (name) => {
      const answer = await fetch(`${running.get(name)!.url}/docs-json`);
      expect(answer.status).toBe(200);
      const served = (await answer.json()) as Record<string, unknown>;
      const file = resolve(__dirname, '../../apps', name, 'openapi.json');
      if (process.env.OPENAPI_UPDATE === '1') writeFileSync(file, `${JSON.stringify(served, null, 2)}\n`);
      const committed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(served, `${name}'s API differs from ${file}; run with OPENAPI_UPDATE=1 and review`).toEqual(
        committed,
      );
    },
  );

  it('answers an unknown route with a coded 404 and logs JSON with the caller’s trace id', async () => {
    const service = running.get('enrollment')!;
    const traceId = randomBytes(16).toString('hex');
    const response = await fetch(`${service.url}/no-such-route`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND' });
    const line = await waitUntil(
      () =>
        readFileSync(logFile('enrollment'), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((entry) => entry.path === '/no-such-route'),
      { description: 'the access log line' },
    );
    expect(line).toMatchObject({ traceId, status: 404, service: 'enrollment', level: 'info' });
  });

  it('no secret reaches the log', () => {
    const secret = stackEnv().S3_SECRET_ACCESS_KEY;
    for (const { name } of SERVICES) {
      const log = readFileSync(logFile(name), 'utf8');
      expect(log).not.toContain(secret);
      for (const value of Object.values(localSecrets())) expect(log).not.toContain(value);
      // Nor its private key between services (a line of the PEM body).
      const key = readFileSync(serviceIdentity(name).SERVICE_TLS_KEY_FILE, 'utf8');
      expect(log).not.toContain(key.split('\n')[1]);
    }
  });

  it.skipIf(process.env.METERKEEP_STACK_SOURCE !== 'local')(
    'turns not-ready within seconds when Kafka stops, and ready again when it is back, without a restart',
    async () => {
      const service = running.get('telemetry-ingest')!;
      const pid = service.child.pid;
      try {
        await localStack('stop-kafka');
        const stoppedAt = Date.now();
        const down = await waitUntil(
          async () => {
            const { httpStatus, body } = await service.readiness();
            return httpStatus === 503 ? body : undefined;
          },
          { timeoutMs: 15_000, description: 'not-ready after Kafka stopped' },
        );
        expect(Date.now() - stoppedAt).toBeLessThan(15_000);
        expect(down.checks.find((c) => c.name === 'kafka')).toMatchObject({ ok: false });
        expect(down.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: true });
      } finally {
        await localStack('start-kafka');
      }
      await service.waitReady(60_000);
      expect(service.child.pid).toBe(pid);
      expect(service.child.exitCode).toBeNull();
      // Every service back in steady state before the next test signals them: a SIGTERM that meets a
      // kafkajs consumer still restarting after the broker came back timed out bootstrap's drain once.
      await Promise.all([...running.values()].map((s) => s.waitReady(60_000)));
    },
  );

  it('on SIGTERM each service drains and exits 0', async () => {
    const results = await Promise.all(
      [...running.values()].map(async (s) => [s.name, await s.stop()] as const),
    );
    const tail = (name: string) => readFileSync(logFile(name), 'utf8').split('\n').slice(-25).join('\n');
    for (const [name, exit] of results)
      expect({ name, ...exit }, `${name}'s last log lines:\n${tail(name)}`).toEqual({
        name,
        code: 0,
        signal: null,
      });
    const log = readFileSync(logFile('privacy'), 'utf8');
    expect(log).toMatch(/"msg":"shutting down"/);
    expect(log).toMatch(/"msg":"stopped"/);
  });
});

describe('a service with bad configuration', () => {
  it('stops at start-up with a message naming the variable', async () => {
    const { KAFKA_BROKERS: _omitted, ...env } = stackEnv();
    const service = await startServiceProcess({
      name: 'enrollment',
      port: await freePort(),
      env: { ...env, KAFKA_BROKERS: '', DATABASE_URL: 'mysql://nope' },
      logFile: logFile('bad-config'),
    });
    const exit = await service.exited;
    expect(exit.code).toBe(1);
    const output = readFileSync(logFile('bad-config'), 'utf8');
    expect(output).toContain('KAFKA_BROKERS is required');
    expect(output).toContain('DATABASE_URL: must be a postgres:// URL');
    expect(output).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});
