// One source of truth for how TypeScript becomes JavaScript here: the build and the test runner both
// read the path aliases from tsconfig.base.json and keep decorator metadata, which NestJS DI needs.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function tsconfigPaths() {
  const tsconfig = JSON.parse(readFileSync(resolve(workspaceRoot, 'tsconfig.base.json'), 'utf8'));
  return tsconfig.compilerOptions.paths;
}

export function swcOptions(moduleType) {
  return {
    sourceMaps: true,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: moduleType },
  };
}
