#!/usr/bin/env node
// Compiles apps/ and libs/ to dist/ with SWC (keeping decorator metadata for NestJS) and rewrites the
// @meterkeep/* aliases to relative paths, so `node dist/apps/<app>/src/main.js` runs a service.
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { requireNode } from './require-node.mjs';
import { swcOptions, tsconfigPaths, workspaceRoot } from './swc-options.mjs';

requireNode('build');

const outDir = resolve(workspaceRoot, 'dist');
const skip = /\.(spec|int-spec|e2e-spec)\.ts$|\.d\.ts$/;

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'test') yield* sources(path);
    } else if (entry.name.endsWith('.ts') && !skip.test(entry.name)) yield path;
  }
}

const started = performance.now();
await rm(outDir, { recursive: true, force: true });
const files = [];
for (const top of ['apps', 'libs'])
  for await (const file of sources(resolve(workspaceRoot, top))) files.push(file);

const options = swcOptions('commonjs');
options.jsc.baseUrl = workspaceRoot;
options.jsc.paths = tsconfigPaths();

await Promise.all(
  files.map(async (file) => {
    const rel = relative(workspaceRoot, file);
    const target = join(outDir, rel.replace(/\.ts$/, '.js'));
    const { code, map } = await transformFile(file, {
      ...options,
      filename: file,
      sourceFileName: relative(dirname(target), file),
    });
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, `${code}\n//# sourceMappingURL=${target.split('/').pop()}.map\n`);
    if (map) await writeFile(`${target}.map`, map);
  }),
);
console.log(`built ${files.length} files into dist/ in ${Math.round(performance.now() - started)} ms`);
