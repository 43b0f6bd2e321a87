import { Controller, Get, Global, Injectable, Module, type OnModuleInit, Param } from '@nestjs/common';
import { type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type HealthProbe } from '@meterkeep/observability';
import { DomainError } from './errors/domain-error';
import { HealthModule } from './health/health.module';
import { type RunningService, startService } from './run-service';

// A fake store whose answer the test decides: the readiness logic is what is under test here.
class SwitchableProbe implements HealthProbe {
  up = true;
  constructor(readonly name: string) {}
  check() {
    return this.up ? Promise.resolve() : Promise.reject(new Error(`${this.name} refused the connection`));
  }
}
const kafka = new SwitchableProbe('kafka');
const postgres = new SwitchableProbe('postgres');

@Controller('things')
class ThingsController {
  @Get(':id')
  get(@Param('id') id: string) {
    if (id === 'missing') throw new DomainError('not-found', 'THING_NOT_FOUND', 'No thing with that id');
    if (id === 'busy') throw new DomainError('unavailable', 'BUSY', 'Try later', undefined, 7);
    if (id === 'boom') throw new Error('database password is hunter2');
    return { id };
  }
}

// Stores are global modules in a service (as DbModule and KafkaModule are), so health can inject them.
@Global()
@Module({
  providers: [
    { provide: 'kafka', useValue: kafka },
    { provide: 'postgres', useValue: postgres },
  ],
  exports: ['kafka', 'postgres'],
})
class FakeStoresModule {}

@Module({ imports: [FakeStoresModule, HealthModule.forRoot(['kafka'])], controllers: [ThingsController] })
class KafkaOnlyModule {}

@Module({
  imports: [FakeStoresModule, HealthModule.forRoot(['kafka', 'postgres'])],
  controllers: [ThingsController],
})
class TestModule {}

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', destination, level: 'debug' }) };
}

// Stands for KafkaModule (which creates topics on module init) and a consumer subscribing to them.
const order: string[] = [];
@Injectable()
class TopicsCreator implements OnModuleInit {
  onModuleInit() {
    order.push('topics created');
  }
}
@Module({ imports: [KafkaOnlyModule], providers: [TopicsCreator] })
class WithTopicsModule {}
class RecordingTransport extends Server implements CustomTransportStrategy {
  listen(callback: () => void) {
    order.push('consumer subscribed');
    callback();
  }
  close() {}
  on(): never {
    throw new Error('unused');
  }
  unwrap<T>(): T {
    throw new Error('unused');
  }
}

describe('a service built by startService', () => {
  let service: RunningService | undefined;
  afterEach(async () => {
    kafka.up = true;
    postgres.up = true;
    await service?.stop();
    service = undefined;
  });

  it('is ready only while every probe passes, and names the one that fails', async () => {
    service = await startService({
      name: 't',
      module: TestModule,
      port: 0,
      host: '127.0.0.1',
      logger: capturedLogger().logger,
    });
    const ready = await fetch(`${service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: [
        { name: 'kafka', ok: true },
        { name: 'postgres', ok: true },
      ],
    });

    postgres.up = false;
    const notReady = await fetch(`${service.url}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({
      status: 'not-ready',
      checks: [
        { name: 'kafka', ok: true },
        { name: 'postgres', ok: false, error: 'postgres refused the connection' },
      ],
    });
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);

    postgres.up = true;
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
  });

  it('maps domain errors to their status and code, and hides an unexpected error behind a logged id', async () => {
    const { lines, logger } = capturedLogger();
    service = await startService({ name: 't', module: KafkaOnlyModule, port: 0, host: '127.0.0.1', logger });

    const missing = await fetch(`${service.url}/things/missing`);
    expect(missing.status).toBe(404);
    // RFC 9457 problem details, the stable code and message kept beside them.
    expect(missing.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await missing.json()).toEqual({
      type: 'https://meterkeep.dev/problems/thing-not-found',
      title: 'Not Found',
      status: 404,
      detail: 'No thing with that id',
      code: 'THING_NOT_FOUND',
      message: 'No thing with that id',
    });

    const busy = await fetch(`${service.url}/things/busy`);
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('7');

    const boom = await fetch(`${service.url}/things/boom`);
    expect(boom.status).toBe(500);
    const body = (await boom.json()) as { code: string; message: string; errorId: string };
    expect(body).toMatchObject({ code: 'INTERNAL', message: 'Internal error' });
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(lines.find((l) => l.msg === 'unexpected error')).toMatchObject({ errorId: body.errorId });
  });

  it('runs configure on the app before it listens', async () => {
    let listeningWhenConfigured: boolean | undefined;
    service = await startService({
      name: 't',
      module: KafkaOnlyModule,
      port: 0,
      host: '127.0.0.1',
      logger: capturedLogger().logger,
      configure: (app) => {
        listeningWhenConfigured = (app.getHttpServer() as { listening: boolean }).listening;
        app
          .getHttpAdapter()
          .get('/configured', (_request: unknown, response: { json(body: unknown): void }) =>
            response.json({ configured: true }),
          );
      },
    });
    expect(listeningWhenConfigured).toBe(false);
    expect(await (await fetch(`${service.url}/configured`)).json()).toEqual({ configured: true });
  });

  it('initialises its modules (migrations, topics) before any consumer subscribes', async () => {
    order.length = 0;
    service = await startService({
      name: 't',
      module: WithTopicsModule,
      port: 0,
      host: '127.0.0.1',
      logger: capturedLogger().logger,
      transports: [new RecordingTransport()],
    });
    expect(order).toEqual(['topics created', 'consumer subscribed']);
  });

  it('turns not-ready as soon as it begins to stop', async () => {
    service = await startService({
      name: 't',
      module: KafkaOnlyModule,
      port: 0,
      host: '127.0.0.1',
      logger: capturedLogger().logger,
    });
    const { url } = service;
    const stopping = service.stop();
    const during = await fetch(`${url}/health/ready`).catch(() => undefined);
    // Either the draining answer or a closed socket: never "ready".
    if (during) expect(during.status).toBe(503);
    await stopping;
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
    service = undefined;
  });
});
