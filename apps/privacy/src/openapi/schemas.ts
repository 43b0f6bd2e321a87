import { z } from 'zod';

type Io = 'input' | 'output';
const registry = new Map<string, { schema: z.ZodType; io: Io }>();

/**
 * Names a zod schema as an OpenAPI component. The same schema validates requests (ZodPipe) and
 * documents them, so the docs cannot drift from what the service accepts.
 */
export function apiSchema<T extends z.ZodType>(name: string, schema: T, io: Io = 'output'): T {
  registry.set(name, { schema, io });
  return schema;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Every registered schema as OpenAPI 3.0 JSON Schema, for the document's components. */
export function openApiComponents(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    [...registry].map(([name, { schema, io }]) => [
      name,
      z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<
        string,
        unknown
      >,
    ]),
  );
}

apiSchema(
  'Error',
  z.object({
    code: z.string().describe('Stable, machine-readable: UPPER_SNAKE_CASE'),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    errorId: z.string().optional().describe('On 500 only: the id under which the error was logged'),
  }),
);

export const errorResponse = (description: string) => ({ description, schema: ref('Error') });

/** ISO 8601 timestamps in responses. */
export const timestamp = z.iso.datetime({ offset: true });
