import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';
import * as contracts from '@meterkeep/contracts';
import { ALL_HTTP_ROUTES, type HttpRouteContract } from '@meterkeep/contracts';

/**
 * Every HTTP contract between processes is defined once, in libs/contracts, and imported by both ends.
 * These checks fail when an app keeps its own copy: a path literal of an internal route, a hand-made
 * fetch to another service, or a route of the registry that its server or its client does not take
 * from the contract. The lint rule is a plain no-restricted-syntax (eslint.config.mjs): it needs no
 * Nx project graph, so these checks hold on a fresh clone.
 */

const root = resolve(__dirname, '..');
const written: string[] = [];
const RULE = 'no-restricted-syntax';

/** Lints a real file placed in an app, so the file-scoped rules apply as to that app's own code. */
async function restrictions(relativePath: string, code: string): Promise<string[]> {
  const file = resolve(root, relativePath);
  writeFileSync(file, code);
  written.push(file);
  const [result] = await new ESLint({ cwd: root }).lintFiles([file]);
  return result!.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

afterAll(() => {
  for (const file of written) rmSync(file, { force: true });
});

const probe = (dir: string) => `${dir}/contract-probe-${process.pid}.ts`;

describe('an app keeps no copy of an internal HTTP contract (lint)', () => {
  it.each([
    ['a path string', "export const path = '/internal/v1/psk-proofs';\n"],
    ['a NestJS controller prefix', "export const prefix = 'internal/v1/psk-proofs';\n"],
    [
      'a path template',
      'export const path = (t: string, m: string) => `/internal/v1/tenants/${t}/meters/${m}/data-keys`;\n',
    ],
  ])(
    'refuses %s of an internal route',
    async (_, code) => {
      const messages = await restrictions(probe('apps/privacy/src'), code);
      expect(messages.join('\n')).toMatch(/come from their contract/);
    },
    60_000,
  );

  it.each([
    ['fetch', "export const call = () => fetch('http://enrollment:3001/x');\n"],
    ['globalThis.fetch', "export const call = () => globalThis.fetch('http://enrollment:3001/x');\n"],
  ])(
    'refuses a hand-made %s call to another service',
    async (_, code) => {
      const messages = await restrictions(probe('apps/telemetry-ingest/src'), code);
      expect(messages.join('\n')).toMatch(/InternalHttpClient/);
    },
    60_000,
  );

  it('allows the path taken from the contract', async () => {
    const messages = await restrictions(
      probe('apps/privacy/src'),
      "import { METER_DATA_KEYS_GET } from '@meterkeep/contracts';\n" +
        "export const path = METER_DATA_KEYS_GET.pathFor({ tenantId: 't', meterId: 'm' });\n",
    );
    expect(messages).toEqual([]);
  }, 60_000);

  it("leaves meter-sim's device-side HTTP to meter-sim", async () => {
    const messages = await restrictions(
      probe('apps/meter-sim/src'),
      "export const call = () => fetch('https://bootstrap.example/bs/v1/x');\n",
    );
    expect(messages).toEqual([]);
  }, 60_000);
});

/** Every non-test TypeScript file of the apps' src folders, with its text. */
function appSources(): { file: string; text: string }[] {
  const files: { file: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(entry.name))
        files.push({ file: relative(root, path), text: readFileSync(path, 'utf8') });
    }
  };
  for (const app of readdirSync(resolve(root, 'apps'), { withFileTypes: true }))
    if (app.isDirectory()) walk(resolve(root, 'apps', app.name, 'src'));
  // Service code shared by several apps: operator API-key authentication calls enrollment, the device
  // listeners' server credentials call bootstrap.
  walk(resolve(root, 'libs/service-runtime/src/operator-auth'));
  walk(resolve(root, 'libs/service-runtime/src/device-listener'));
  return files;
}

/** The name a route is exported under from @meterkeep/contracts. */
function exportName(route: HttpRouteContract): string {
  const entry = Object.entries(contracts).find(([, value]) => value === route);
  if (!entry) throw new Error(`${route.name} is not exported from @meterkeep/contracts`);
  return entry[0];
}

describe('both ends of an internal route import its contract', () => {
  const sources = appSources();
  const internal = ALL_HTTP_ROUTES.filter((route) => route.audience === 'internal');

  it('finds the internal routes and the apps', () => {
    expect(internal.length).toBeGreaterThanOrEqual(5);
    expect(sources.length).toBeGreaterThan(50);
  });

  it.each(internal.map((route) => [route.name, exportName(route)] as const))(
    '%s is served with @ContractRoute(%s)',
    (_, name) => {
      const servers = sources.filter(({ text }) => text.includes(`@ContractRoute(${name})`));
      expect(servers.map((s) => s.file)).toHaveLength(1);
    },
  );

  it('no app serves an internal route by a path of its own', () => {
    const own = sources.filter(({ text }) =>
      /@(Controller|Get|Post|Put|Patch|Delete)\(\s*['"`]\/?internal\//.test(text),
    );
    expect(own.map((s) => s.file)).toEqual([]);
  });

  it('every app call to another service goes through InternalHttpClient with a contract route', () => {
    const calls = sources.flatMap(({ file, text }) =>
      [...text.matchAll(/\.(call|exchange)\(\s*([A-Z][A-Z0-9_]+)\s*,/g)].map((m) => ({ file, route: m[2]! })),
    );
    const names = new Set(internal.map(exportName));
    // Today's callers: bootstrap (PSK proofs), operator-auth (introspection, for privacy and the
    // distributor), the ingest (data keys), the device listeners' credentials (server certificates).
    expect(calls.filter((c) => names.has(c.route)).map((c) => c.route)).toEqual(
      expect.arrayContaining([
        'PSK_PROOFS_CHECK',
        'API_KEYS_INTROSPECT',
        'METER_DATA_KEYS_GET',
        'SERVER_CERTIFICATES_ISSUE',
      ]),
    );
    // fetch( is the lint rule's; an HTTP client of node's own or undici is this check's.
    const handMade = sources.filter(({ text }) =>
      /import\s*\{[^}]*\b(request|get)\b[^}]*\}\s*from\s*'node:https?'|\bhttps?\.(request|get)\(|from 'undici'/.test(
        text,
      ),
    );
    expect(handMade.map((s) => s.file).filter((file) => !file.startsWith('apps/meter-sim/'))).toEqual([]);
  });
});
