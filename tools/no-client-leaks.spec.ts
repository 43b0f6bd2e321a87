// Raw store clients stay inside the libraries that wrap them: apps, their tests included, go through
// @meterkeep/kafka, /cache, /db and /storage, and name those libraries' types (KafkaClient, Redis, …).
// ESLint forbids the imports in app sources; tests are allowed raw clients there, so this scan of the
// files as written covers both, and needs no project graph or cache (it works on a fresh clone).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const SOURCE = /\.(?:[cm]?ts|[cm]?js|tsx)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'coverage', '.nx']);

/** An import, re-export, dynamic import or require of kafkajs, ioredis, pg or @aws-sdk/*. */
const RAW_CLIENT =
  /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]((?:kafkajs|ioredis|pg)(?:\/[^'"]*)?|@aws-sdk\/[^'"]+)['"]/g;

/** The raw client packages a source text imports. */
export function rawClientImports(source: string): string[] {
  return [...source.matchAll(RAW_CLIENT)].map((match) => match[1]!);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

describe('raw store clients', () => {
  it('are recognised in every form of import', () => {
    const source = [
      "import { Kafka } from 'kafkajs';",
      'import type { Redis } from "ioredis";',
      "import {\n  Pool,\n} from 'pg';",
      "export type { S3Client } from '@aws-sdk/client-s3';",
      "const { Kafka: K } = require('kafkajs');",
      "const pg = await import('pg/lib/client');",
      "import '@aws-sdk/lib-storage';",
    ].join('\n');
    expect(rawClientImports(source)).toEqual([
      'kafkajs',
      'ioredis',
      'pg',
      '@aws-sdk/client-s3',
      'kafkajs',
      'pg/lib/client',
      '@aws-sdk/lib-storage',
    ]);
    expect(
      rawClientImports(
        "import { x } from '@meterkeep/kafka';\nimport y from 'pg-boss';\n// uses kafkajs under the hood\n",
      ),
    ).toEqual([]);
  });

  it('are imported by no file under apps/ (tests included) or the demo', () => {
    const files = [...sourceFiles(join(root, 'apps')), ...sourceFiles(join(root, 'tools/demo'))];
    expect(files.length).toBeGreaterThan(100);
    const leaks = files.flatMap((file) =>
      rawClientImports(readFileSync(file, 'utf8')).map((pkg) => `${relative(root, file)}: ${pkg}`),
    );
    expect(leaks, 'import the wrapping library (@meterkeep/kafka, /cache, /db, /storage) instead').toEqual(
      [],
    );
  });
});
