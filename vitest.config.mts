import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { requireNode } from './tools/require-node.mjs';
import { swcOptions, tsconfigPaths, workspaceRoot } from './tools/swc-options.mjs';

requireNode('npm test');

const alias = Object.entries(tsconfigPaths() as Record<string, string[]>)
  // Longest first so '@meterkeep/kafka/nest' wins over '@meterkeep/kafka'.
  .sort(([a], [b]) => b.length - a.length)
  .map(([find, [target]]) => ({
    find: new RegExp(`^${find}$`),
    replacement: resolve(workspaceRoot, target!),
  }));

const shared = {
  plugins: [swc.vite(swcOptions('es6'))],
  resolve: { alias },
};

// Suites that need the real stack run one file at a time: 2 cores, one Kafka.
const stackSuite = {
  // The stack from the environment or containers; else the local stack.
  globalSetup: ['libs/testing/src/global-setup.ts', 'libs/local-stack-cli/src/global-setup.ts'],
  fileParallelism: false,
  testTimeout: 60_000,
  hookTimeout: 180_000,
};

export default defineConfig({
  test: {
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]]
      : ['default'],
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['apps/**/src/**/*.spec.ts', 'libs/**/src/**/*.spec.ts', 'tools/**/*.spec.ts'],
          // Property and fuzz tests do thousands of runs; on 2 busy cores 5 s is not enough for them.
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        ...shared,
        test: {
          name: 'integration',
          include: ['apps/**/*.int-spec.ts', 'libs/**/*.int-spec.ts'],
          sequence: { groupOrder: 1 },
          ...stackSuite,
        },
      },
      {
        ...shared,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e-spec.ts'],
          sequence: { groupOrder: 2 },
          ...stackSuite,
          globalSetup: [...stackSuite.globalSetup, 'test/e2e/build.global-setup.ts'],
          testTimeout: 180_000,
        },
      },
    ],
  },
});
