import { z } from 'zod';
import { httpErrorBody } from '@meterkeep/contracts';

/** Whether a schema is documented as a request reads it (input) or as a response carries it (output). */
export type SchemaIo = 'input' | 'output';

/** A zod schema as OpenAPI 3.0 JSON Schema, for an inline `schema` of a route's body or response. */
export function openApiSchema(schema: z.ZodType, io?: SchemaIo): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    ...(io !== undefined && { io }),
    unrepresentable: 'any',
  });
}

/** Every service's error body: what HttpExceptionFilter answers, as the contracts define it for clients. */
export const ErrorSchema = httpErrorBody;

/**
 * One service's named zod schemas, the components of its OpenAPI document ('Error' first). The same
 * schema validates requests (ZodPipe) and documents them, so the docs cannot drift from what the
 * service accepts. One registry per service, so services in one process keep their documents apart.
 */
export class ApiSchemaRegistry {
  private readonly schemas = new Map<string, { schema: z.ZodType; io: SchemaIo }>();

  constructor() {
    this.add('Error', ErrorSchema);
  }

  /** Names a zod schema as an OpenAPI component (see `ref`); returns the schema. */
  add<T extends z.ZodType>(name: string, schema: T, io: SchemaIo = 'output'): T {
    this.schemas.set(name, { schema, io });
    return schema;
  }

  /** Every registered schema as OpenAPI 3.0 JSON Schema, for the document's components. */
  components(): Record<string, Record<string, unknown>> {
    return Object.fromEntries(
      [...this.schemas].map(([name, { schema, io }]) => [name, openApiSchema(schema, io)]),
    );
  }
}

/** A reference to a named component. */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** An error answer's documentation: its description and the Error body. */
export const errorResponse = (description: string) => ({ description, schema: ref('Error') });

/** ISO 8601 timestamps in responses. */
export const timestamp = z.iso.datetime({ offset: true });
