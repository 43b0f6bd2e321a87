import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_SERVICES, generateClientTypes, generatedPath } from './generate-client.mjs';

// libs/client's types are generated from the committed OpenAPI documents; a document that changed
// without `npm run client:generate` (or a hand edit of the generated file) fails here.
describe('libs/client generated types', () => {
  it.each(CLIENT_SERVICES)(
    '%s: regenerating from its committed openapi.json gives the committed bytes',
    async (service) => {
      expect(await generateClientTypes(service)).toBe(readFileSync(generatedPath(service), 'utf8'));
    },
    60_000,
  );
});

interface Operation {
  requestBody?: { content?: Record<string, { schema?: object }> };
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}

/** Each body schema of a document that is not a $ref to a component, as `<method> <path> <status>`. */
function inlineBodies(service: string): string[] {
  const file = resolve(__dirname, '../apps', service, 'openapi.json');
  const document = JSON.parse(readFileSync(file, 'utf8')) as {
    paths: Record<string, Record<string, Operation>>;
  };
  const inline: string[] = [];
  for (const [path, operations] of Object.entries(document.paths))
    for (const [method, operation] of Object.entries(operations)) {
      const bodies = [
        ['request', operation.requestBody?.content],
        ...Object.entries(operation.responses ?? {}).map(
          ([status, answer]) => [status, answer.content] as const,
        ),
      ] as const;
      for (const [what, content] of bodies)
        for (const { schema } of Object.values(content ?? {}))
          if (schema && !('$ref' in schema)) inline.push(`${method} ${path} ${what}`);
    }
  return inline;
}

// A client gets a named type only for a component: a route of the distributor whose schema is not
// named in apps/ota-distributor/src/openapi/schemas.ts shows up here.
describe("the OTA distributor's document", () => {
  it('references a named component for every request and response body', () => {
    expect(inlineBodies('ota-distributor')).toEqual([]);
  });
});
