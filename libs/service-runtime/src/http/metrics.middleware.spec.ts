import { Controller, Get, Module, Param } from '@nestjs/common';
import { TELEMETRY_BATCH_POST } from '@meterkeep/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PrometheusSample,
  type Telemetry,
  createLogger,
  parsePrometheusText,
  samplesOf,
  startTelemetry,
} from '@meterkeep/observability';
import { DomainError } from '../errors/domain-error';
import { HealthModule } from '../health/health.module';
import { ContractRoute } from '../openapi/contract-route.decorator';
import { type RunningService, startService } from '../run-service';
import { EventEmitter } from 'node:events';
import type { NextFunction, Request, Response } from 'express';
import { UNMATCHED_ROUTE, measureRequests, routeTemplate } from './metrics.middleware';

describe('routeTemplate', () => {
  it('labels a request with the route template it matched, never its path', () => {
    expect(routeTemplate({ route: { path: '/v1/devices/:deviceId' }, baseUrl: '' })).toBe(
      '/v1/devices/:deviceId',
    );
  });

  it('prefixes the mount path of a nested router', () => {
    expect(routeTemplate({ route: { path: '/:deviceId' }, baseUrl: '/v1/devices' })).toBe(
      '/v1/devices/:deviceId',
    );
  });

  it('labels a request no route matched as unmatched (a 404 path may hold any id a client invents)', () => {
    expect(routeTemplate({ baseUrl: '' })).toBe(UNMATCHED_ROUTE);
    expect(routeTemplate({ route: undefined })).toBe(UNMATCHED_ROUTE);
  });

  it('does not take a regular-expression route as a label', () => {
    expect(routeTemplate({ route: { path: /^\/v1\/.*/ } })).toBe(UNMATCHED_ROUTE);
  });
});

@Controller('v1/devices')
class DevicesController {
  @Get(':deviceId')
  get(@Param('deviceId') deviceId: string) {
    if (deviceId === 'busy') throw new DomainError('unavailable', 'BUSY', 'Try later', undefined, 3);
    if (deviceId === 'hurry') throw new DomainError('rate-limited', 'SLOW_DOWN', 'Too many', undefined, 3);
    return { deviceId };
  }
}

// A contract route: the 429 and 503 codes it declares are counted from 0 at start.
@Controller()
class BatchesController {
  @ContractRoute(TELEMETRY_BATCH_POST)
  post() {
    return {};
  }
}

@Module({ imports: [HealthModule.forRoot([])], controllers: [DevicesController, BatchesController] })
class DevicesModule {}

describe('measureRequests', () => {
  it('does not throw when the client dropped the connection before the answer finished (no socket left)', () => {
    const request = { method: 'GET', socket: { encrypted: false } } as unknown as Request;
    const response = Object.assign(new EventEmitter(), {
      statusCode: 200,
      locals: {},
    }) as unknown as Response;
    measureRequests()(request, response, (() => undefined) as NextFunction);
    (request as { socket: unknown }).socket = null;
    expect(() => response.emit('finish')).not.toThrow();
  });
});

describe('the request metrics of a service, scraped from its Prometheus endpoint', () => {
  let telemetry: Telemetry;
  let service: RunningService;
  let scrape: () => Promise<PrometheusSample[]>;

  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'metrics-test',
      traces: 'none',
      metrics: 'none',
      prometheus: { port: 0, host: '127.0.0.1' },
    });
    const url = (await telemetry.metricsEndpoint)!;
    scrape = async () => parsePrometheusText(await (await fetch(url)).text());
    service = await startService({
      name: 'metrics-test',
      module: DevicesModule,
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ service: 'metrics-test', level: 'silent' }),
    });
  });

  afterAll(async () => {
    await service?.stop();
    await telemetry?.shutdown();
  });

  it('exports the 503 codes a served contract route declares at 0 before any request', async () => {
    const overload = samplesOf(await scrape(), 'meterkeep_http_overload_answers_total');
    expect(
      overload.map(({ labels, value }) => [
        labels.http_route,
        labels.http_response_status_code,
        labels.meterkeep_listener,
        labels.meterkeep_code,
        value,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [TELEMETRY_BATCH_POST.path, '503', 'device', 'INGEST_SATURATED', 0],
        [TELEMETRY_BATCH_POST.path, '503', 'device', 'KEY_VAULT_UNAVAILABLE', 0],
      ]),
    );
    // Only contract routes' declared codes: a route without a contract starts with none.
    expect(overload.filter(({ labels }) => labels.http_route !== TELEMETRY_BATCH_POST.path)).toEqual([]);
    expect(overload.every(({ value }) => value === 0)).toBe(true);
  });

  it('counts and times requests per route template, with no device id in any label', async () => {
    expect((await fetch(`${service.url}/v1/devices/meter-00042`)).status).toBe(200);
    expect((await fetch(`${service.url}/v1/devices/meter-00043`)).status).toBe(200);
    expect((await fetch(`${service.url}/nothing/here/meter-00044`)).status).toBe(404);

    const samples = await scrape();
    const matched = samplesOf(samples, 'http_server_request_duration_count', {
      http_route: '/v1/devices/:deviceId',
      http_request_method: 'GET',
      http_response_status_code: '200',
      meterkeep_listener: 'operator',
    });
    expect(matched.map((sample) => sample.value)).toEqual([2]);
    expect(
      samplesOf(samples, 'http_server_request_duration_bucket', { http_route: '/v1/devices/:deviceId' })
        .length,
    ).toBeGreaterThan(1);
    expect(
      samplesOf(samples, 'http_server_request_duration_count', {
        http_route: UNMATCHED_ROUTE,
        http_response_status_code: '404',
      }).map((sample) => sample.value),
    ).toEqual([1]);
    const labelValues = samples.flatMap((sample) => Object.values(sample.labels));
    expect(labelValues.filter((value) => value.includes('meter-0004'))).toEqual([]);
  });

  it('counts 429 and 503 answers with their code', async () => {
    expect((await fetch(`${service.url}/v1/devices/busy`)).status).toBe(503);
    expect((await fetch(`${service.url}/v1/devices/hurry`)).status).toBe(429);

    const samples = await scrape();
    expect(
      samplesOf(samples, 'meterkeep_http_overload_answers_total', {
        http_route: '/v1/devices/:deviceId',
        http_response_status_code: '503',
        meterkeep_code: 'BUSY',
      }).map((sample) => sample.value),
    ).toEqual([1]);
    expect(
      samplesOf(samples, 'meterkeep_http_overload_answers_total', {
        http_response_status_code: '429',
        meterkeep_code: 'SLOW_DOWN',
      }).map((sample) => sample.value),
    ).toEqual([1]);
  });

  it('exports the runtime metrics: event loop delay, heap and GC', async () => {
    // Garbage until a collection shows in the GC histogram (--expose-gc is not needed; a loaded machine
    // may take more than one round before the GC observer reports).
    let samples = await scrape();
    for (let round = 0; round < 50 && samplesOf(samples, 'v8js_gc_duration_count').length === 0; round++) {
      const garbage = Array.from({ length: 200_000 }, (_, i) => ({ i, s: String(i) }));
      expect(garbage.length).toBe(200_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      samples = await scrape();
    }
    expect(samplesOf(samples, 'nodejs_eventloop_delay_p99')).toHaveLength(1);
    expect(samplesOf(samples, 'nodejs_eventloop_utilization')).toHaveLength(1);
    expect(samplesOf(samples, 'v8js_memory_heap_used', { v8js_heap_space_name: 'old_space' })).toHaveLength(
      1,
    );
    expect(samplesOf(samples, 'v8js_memory_heap_limit')[0]!.value).toBeGreaterThan(0);
    expect(samplesOf(samples, 'process_memory_usage')[0]!.value).toBeGreaterThan(0);
    expect(samplesOf(samples, 'v8js_gc_duration_count').length).toBeGreaterThan(0);
  });

  it('answers only GET /metrics on the metrics port', async () => {
    const url = new URL((await telemetry.metricsEndpoint)!);
    expect((await fetch(new URL('/v1/devices/x', url))).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);
  });
});
