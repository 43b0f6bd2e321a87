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
  /** Each registered schema's documentation (see `documentedAs`) to its name; built on first lookup. */
  private names: Map<string, string> | undefined;

  constructor() {
    this.add('Error', ErrorSchema);
  }

  /** Names a zod schema as an OpenAPI component (see `ref`); returns the schema. */
  add<T extends z.ZodType>(name: string, schema: T, io: SchemaIo = 'output'): T {
    this.schemas.set(name, { schema, io });
    this.names = undefined;
    return schema;
  }

  /**
   * The name of the component documented as this schema is, if any. Compared by documentation, not by
   * identity: a contract's `httpError(...)` or refusal body is a new zod object per route, yet the
   * same body. The top-level description is left out (the answer's description carries it).
   */
  nameOf(schema: z.ZodType, io: SchemaIo): string | undefined {
    this.names ??= this.indexByDocumentation();
    return this.names.get(documentedAs(schema, io));
  }

  private indexByDocumentation(): Map<string, string> {
    const names = new Map<string, string>();
    for (const [name, { schema, io }] of this.schemas) {
      const key = documentedAs(schema, io);
      const other = names.get(key);
      if (other !== undefined) throw new Error(`Components ${other} and ${name} document the same schema`);
      names.set(key, name);
    }
    return names;
  }

  /** Every registered schema as OpenAPI 3.0 JSON Schema, for the document's components. */
  components(): Record<string, Record<string, unknown>> {
    return Object.fromEntries(
      [...this.schemas].map(([name, { schema, io }]) => [name, openApiSchema(schema, io)]),
    );
  }
}

/** A schema's OpenAPI documentation without its top-level description, as a comparable string. */
function documentedAs(schema: z.ZodType, io: SchemaIo): string {
  const { description: _description, ...documented } = openApiSchema(schema, io);
  return `${io} ${JSON.stringify(documented)}`;
}

/** A reference to a named component. */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** An error answer's documentation: its description and the Error body. */
export const errorResponse = (description: string) => ({ description, schema: ref('Error') });

/** ISO 8601 timestamps in responses. */
export const timestamp = z.iso.datetime({ offset: true });
