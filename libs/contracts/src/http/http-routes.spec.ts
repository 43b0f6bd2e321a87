import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectCommittedSchema } from '../snapshot-test';
import { z } from 'zod';
import {
  defineHttpRoute,
  HTTP_ROUTE_NAME,
  HttpContractViolationError,
  successStatus,
  validateHttpRequest,
  validateHttpResponse,
} from './http-route';
import { httpRouteChangeProblems, httpRouteJsonSchema } from './http-route-snapshot';
import { METER_DATA_KEYS_GET, PSK_PROOFS_CHECK } from './internal-routes';
import { ALL_HTTP_ROUTES } from './routes';

const snapshotDir = resolve(__dirname, '../../schemas/http');
const routes = ALL_HTTP_ROUTES.map((route) => [route.name, route] as const);

describe('HTTP route registry', () => {
  it('names every route once, as <service>.<subject>.<verb>, and each method and path once a service', () => {
    const names = ALL_HTTP_ROUTES.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(HTTP_ROUTE_NAME);
    // A path is a service's own: each service that keeps an audit chain serves /v1/audit/verify.
    const endpoints = ALL_HTTP_ROUTES.map(
      (r) => `${r.name.split('.')[0]} ${r.method} ${r.path.replace(/:\w+/g, ':')}`,
    );
    expect(new Set(endpoints).size).toBe(endpoints.length);
  });

  it.each(routes)('%s: every example validates against its request, parameters and answer', (_, route) => {
    expect(route.examples.length).toBeGreaterThan(0);
    expect(route.examples.some((example) => example.status === successStatus(route))).toBe(true);
    for (const example of route.examples) {
      z.object(route.params).parse(example.params ?? {});
      if (route.query) route.query.parse(example.query ?? {});
      if (route.request) validateHttpRequest(route as typeof route & { request: z.ZodType }, example.request);
      else expect(example.request, example.title).toBeUndefined();
      validateHttpResponse(route, example.status, example.response);
      expect(route.pathFor(example.params ?? {})).not.toMatch(/:/);
    }
  });
});

describe('defineHttpRoute', () => {
  it('builds paths with each parameter URL-encoded', () => {
    expect(METER_DATA_KEYS_GET.pathFor({ tenantId: 'acme', meterId: 'MTR:1/2' })).toBe(
      '/internal/v1/tenants/acme/meters/MTR%3A1%2F2/data-keys',
    );
    expect(PSK_PROOFS_CHECK.pathFor({})).toBe('/internal/v1/psk-proofs');
  });

  it('refuses parameters that do not match the path, a bad name and a GET with a body', () => {
    const base = { audience: 'internal', summary: 's', examples: [] } as const;
    const ok = { 200: z.object({}) };
    expect(() =>
      defineHttpRoute({
        ...base,
        name: 'a.b.c',
        method: 'GET',
        path: '/internal/x/:id',
        params: {},
        responses: ok,
      } as never),
    ).toThrow(/params/);
    expect(() =>
      defineHttpRoute({ ...base, name: 'nodots', method: 'GET', path: '/internal/x', responses: ok }),
    ).toThrow(/name/);
    expect(() =>
      defineHttpRoute({
        ...base,
        name: 'a.b.c',
        method: 'GET',
        path: '/internal/x',
        request: z.object({}),
        responses: ok,
      }),
    ).toThrow(/GET/);
    expect(() =>
      defineHttpRoute({ ...base, name: 'a.b.c', method: 'GET', path: '/v1/x', responses: ok }),
    ).toThrow(/internal routes, and only they/);
    expect(() =>
      defineHttpRoute({
        ...base,
        audience: 'device',
        name: 'a.b.c',
        method: 'GET',
        path: '/internal/x',
        responses: ok,
      }),
    ).toThrow(/internal routes, and only they/);
  });

  it('names the part and the field that break the contract', () => {
    expect(() => validateHttpRequest(PSK_PROOFS_CHECK, { pskIdentity: 'x' })).toThrow(
      HttpContractViolationError,
    );
    expect(() => validateHttpResponse(PSK_PROOFS_CHECK, 200, { valid: 'yes' })).toThrow(/200 answer.*valid/);
    expect(() => validateHttpResponse(PSK_PROOFS_CHECK, 418, {})).toThrow(/not declared/);
  });
});

describe('schema compatibility on a route', () => {
  it.each(routes)('%s matches its committed schema', (name, route) => {
    expectCommittedSchema({
      name,
      file: resolve(snapshotDir, `${name}.schema.json`),
      current: httpRouteJsonSchema(route),
      problems: httpRouteChangeProblems,
      newVersion: 'a new route (a new /vN/ path)',
    });
  });

  it('accepts a new optional field and a new answer; refuses a new required field, a moved path, a lost answer', () => {
    const before = httpRouteJsonSchema(PSK_PROOFS_CHECK);
    const widened = defineHttpRoute({
      ...PSK_PROOFS_CHECK,
      request: PSK_PROOFS_CHECK.request.extend({ note: z.string().optional() }),
      responses: { ...PSK_PROOFS_CHECK.responses, 429: z.object({}) },
      examples: [],
    });
    expect(httpRouteChangeProblems(before, httpRouteJsonSchema(widened))).toEqual([]);

    const required = defineHttpRoute({
      ...PSK_PROOFS_CHECK,
      request: PSK_PROOFS_CHECK.request.extend({ note: z.string() }),
    });
    expect(httpRouteChangeProblems(before, httpRouteJsonSchema(required))).toEqual([
      '$request.note: became required',
    ]);
    const moved = defineHttpRoute({ ...PSK_PROOFS_CHECK, path: '/internal/v2/psk-proofs' });
    expect(httpRouteChangeProblems(before, httpRouteJsonSchema(moved))).toEqual([
      'path: changed from /internal/v1/psk-proofs to /internal/v2/psk-proofs',
    ]);
    const { 401: _lost, ...fewer } = PSK_PROOFS_CHECK.responses;
    const narrowed = defineHttpRoute({ ...PSK_PROOFS_CHECK, responses: fewer, examples: [] });
    expect(httpRouteChangeProblems(before, httpRouteJsonSchema(narrowed))).toEqual([
      'responses.401: removed',
    ]);
  });
});
