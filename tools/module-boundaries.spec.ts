import { ESLint } from 'eslint';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const written: string[] = [];

/** Lints a real file placed in a project, so the rule sees that project's tags. */
async function lintAt(relativePath: string, code: string) {
  const file = resolve(root, relativePath);
  writeFileSync(file, code);
  written.push(file);
  const [result] = await new ESLint({ cwd: root }).lintFiles([file]);
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

afterAll(() => {
  for (const file of written) rmSync(file, { force: true });
});

describe('module boundaries', () => {
  const probe = (dir: string) => `${dir}/boundary-probe-${process.pid}.ts`;

  it('refuses an app importing another app', async () => {
    const messages = await lintAt(
      probe('apps/bootstrap/src'),
      "import { AppModule } from '../../enrollment/src/app.module';\nexport const m = AppModule;\n",
    );
    expect(messages.join('\n')).toMatch(/@nx\/enforce-module-boundaries/);
  }, 60_000);

  it.each(['kafkajs', 'ioredis', '@aws-sdk/client-s3', 'pg'])(
    'refuses %s imported inside an app',
    async (pkg) => {
      const messages = await lintAt(
        probe('apps/telemetry-ingest/src'),
        `import * as raw from '${pkg}';\nexport const r = raw;\n`,
      );
      expect(messages.join('\n')).toMatch(
        new RegExp(`enforce-module-boundaries.*${pkg.replace('/', '\\/')}`),
      );
    },
    60_000,
  );

  it('refuses one wrapping library importing another library’s client', async () => {
    const messages = await lintAt(
      probe('libs/cache/src'),
      "import * as raw from 'kafkajs';\nexport const r = raw;\n",
    );
    expect(messages.join('\n')).toMatch(/enforce-module-boundaries.*kafkajs/);
  }, 60_000);

  it('allows the wrapping library its own client', async () => {
    const messages = await lintAt(
      probe('libs/kafka/src'),
      "import * as raw from 'kafkajs';\nexport const r = raw;\n",
    );
    expect(messages.join('\n')).not.toMatch(/enforce-module-boundaries/);
  }, 60_000);

  it('keeps NestJS out of a library core', async () => {
    const messages = await lintAt(
      probe('libs/config/src'),
      "import { Module } from '@nestjs/common';\nexport const m = Module;\n",
    );
    expect(messages.join('\n')).toMatch(/no-restricted-imports/);
  }, 60_000);

  it('checks the layering on a fresh clone, where no project graph is cached yet', async () => {
    // An empty Nx data directory stands for a clone on which no nx command has run.
    const freshDataDir = mkdtempSync(resolve(tmpdir(), 'nx-data-'));
    const file = probe('apps/telemetry-ingest/src');
    writeFileSync(resolve(root, file), "import * as raw from 'kafkajs';\nexport const r = raw;\n");
    written.push(resolve(root, file));
    try {
      const run = await promisify(execFile)(
        process.execPath,
        [resolve(root, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', file],
        { cwd: root, env: { ...process.env, NX_WORKSPACE_DATA_DIRECTORY: freshDataDir } },
      ).catch((error: { stdout: string }) => error);
      const [result] = JSON.parse(run.stdout.slice(run.stdout.indexOf('['))) as ESLint.LintResult[];
      expect(result!.messages.map((m) => `${m.ruleId}: ${m.message}`).join('\n')).toMatch(
        /enforce-module-boundaries.*kafkajs/,
      );
    } finally {
      rmSync(freshDataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
