import js from '@eslint/js';
import { createProjectGraphAsync, readCachedProjectGraph } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Nx's boundary rule skips itself, with only a warning, when no project graph is cached (a fresh clone
// before any nx command, or eslint run directly): build the graph first so the layering is always checked.
await ensureProjectGraph();

async function ensureProjectGraph() {
  try {
    readCachedProjectGraph();
  } catch {
    const daemon = process.env.NX_DAEMON;
    process.env.NX_DAEMON = 'false'; // a one-off computation; no daemon left behind by a linter
    try {
      await createProjectGraphAsync({ exitOnError: false });
    } finally {
      if (daemon === undefined) delete process.env.NX_DAEMON;
      else process.env.NX_DAEMON = daemon;
    }
  }
}

// Raw clients stay inside the libraries that wrap them; everyone else goes through those libraries.
const wrapped = ['kafkajs', 'ioredis', '@aws-sdk/*', 'pg'];
const except = (pkg) => wrapped.filter((p) => p !== pkg);

/** Layering by Nx tags. Tests may also use the test harness and the raw clients they check against. */
function boundaries({ tests }) {
  const libs = (...tags) => (tests ? [...tags, 'type:testing'] : tags);
  const banned = tests ? [] : wrapped;
  return {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [
      {
        sourceTag: 'type:app',
        onlyDependOnLibsWithTags: libs('type:runtime', 'type:data-access', 'type:util', 'type:contracts'),
        bannedExternalImports: banned,
      },
      {
        sourceTag: 'type:runtime',
        onlyDependOnLibsWithTags: libs('type:data-access', 'type:util', 'type:contracts'),
        bannedExternalImports: banned,
      },
      { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: libs('type:util', 'type:contracts') },
      {
        sourceTag: 'type:util',
        onlyDependOnLibsWithTags: libs('type:util', 'type:contracts'),
        bannedExternalImports: banned,
      },
      {
        sourceTag: 'type:contracts',
        onlyDependOnLibsWithTags: [],
        allowedExternalImports: ['zod', 'node:*', 'vitest'],
      },
      {
        // The local stack (deploy/local) and the service processes on it: for the harness and the tools.
        sourceTag: 'type:stack',
        onlyDependOnLibsWithTags: ['type:util', 'type:contracts'],
        bannedExternalImports: banned,
      },
      {
        // The local stack with the real clients behind its readiness checks: stack.sh, the demo, the
        // tests' global setup. Apart from type:stack, so the harness and the clients' tests stay acyclic.
        sourceTag: 'type:stack-cli',
        onlyDependOnLibsWithTags: ['type:stack', 'type:data-access', 'type:util', 'type:contracts'],
        bannedExternalImports: banned,
      },
      {
        sourceTag: 'type:testing',
        onlyDependOnLibsWithTags: [
          'type:stack',
          'type:runtime',
          'type:data-access',
          'type:util',
          'type:contracts',
        ],
        bannedExternalImports: banned,
      },
      {
        sourceTag: 'type:e2e',
        onlyDependOnLibsWithTags: ['type:testing', 'type:data-access', 'type:util', 'type:contracts'],
        bannedExternalImports: banned,
      },
      {
        sourceTag: 'type:tooling',
        onlyDependOnLibsWithTags: libs('type:stack-cli', 'type:stack', 'type:util', 'type:contracts'),
      },
      ...(tests
        ? []
        : [
            { sourceTag: 'wraps:kafkajs', bannedExternalImports: except('kafkajs') },
            { sourceTag: 'wraps:ioredis', bannedExternalImports: except('ioredis') },
            { sourceTag: 'wraps:aws-sdk', bannedExternalImports: except('@aws-sdk/*') },
            { sourceTag: 'wraps:pg', bannedExternalImports: except('pg') },
          ]),
    ],
  };
}

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.nx/**',
      '.local-stack/**',
      'tmp/**',
      'coverage/**',
      // Generated from the committed OpenAPI documents (tools/generate-client.mjs; a test holds them equal).
      'libs/client/src/generated/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.mjs', '*.mts', 'tools/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': ['error', boundaries({ tests: false })],
    },
  },
  {
    // A library's core is plain TypeScript; only its nest/ adapter may speak NestJS.
    files: [
      'libs/{contracts,config,observability,pki,kafka,db,cache,storage,outbox,audit,reading-seal,firmware,firmware-delta,device-directory}/src/**/*.ts',
    ],
    ignores: ['libs/*/src/nest/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@nestjs/*'], message: 'Keep NestJS in the src/nest adapter.' }] },
      ],
    },
  },
  {
    // Contracts that cross a process boundary live in libs/contracts: an app takes an internal route's
    // path from its contract and calls other services through InternalHttpClient, never by hand.
    // Checked by tools/contract-guards.spec.ts. meter-sim is a device, not a service: its device-side
    // client may speak HTTP itself.
    files: ['apps/*/src/**/*.ts'],
    ignores: ['apps/meter-sim/**', '**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Literal[value=/^\\/?internal\\//]',
          message:
            'Internal route paths come from their contract in libs/contracts (ROUTE.path, ROUTE.pathFor).',
        },
        {
          selector: 'TemplateElement[value.raw=/^\\/?internal\\//]',
          message:
            'Internal route paths come from their contract in libs/contracts (ROUTE.path, ROUTE.pathFor).',
        },
        {
          selector:
            "CallExpression[callee.name='fetch'], CallExpression[callee.property.name='fetch'][callee.object.name='globalThis']",
          message:
            'Call other services through InternalHttpClient (@meterkeep/service-runtime) with a route of libs/contracts.',
        },
      ],
    },
  },
  {
    files: [
      '**/*.spec.ts',
      '**/*.int-spec.ts',
      '**/*.e2e-spec.ts',
      'test/**/*.ts',
      // Benchmarks drive real clients, as tests do.
      'test/bench/**/*.mjs',
      'libs/*/test/**/*.ts',
      'apps/*/test/**/*.ts',
    ],
    rules: {
      '@nx/enforce-module-boundaries': ['error', boundaries({ tests: true })],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.mjs'], languageOptions: { globals: globals.node } },
  prettier,
);
