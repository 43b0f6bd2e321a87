import { readFileSync } from 'node:fs';
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
