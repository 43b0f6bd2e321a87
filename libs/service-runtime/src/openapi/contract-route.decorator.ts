import { HttpCode, RequestMapping, RequestMethod, SetMetadata, applyDecorators } from '@nestjs/common';
import type { z } from 'zod';
import { ApiBody, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import {
  type HttpMethod,
  type HttpRouteContract,
  type PathParamSchema,
  successStatus,
} from '@meterkeep/contracts';
import { type ApiSchemaRegistry, type SchemaIo, openApiSchema, ref } from './api-schemas';

/** The route contract a handler serves, for guards (InternalCallerGuard reads its callers). */
export const CONTRACT_ROUTE = Symbol('meterkeep:contract-route');

const METHODS: Record<HttpMethod, RequestMethod> = {
  GET: RequestMethod.GET,
  POST: RequestMethod.POST,
  PUT: RequestMethod.PUT,
  PATCH: RequestMethod.PATCH,
  DELETE: RequestMethod.DELETE,
};

/**
 * Serves a route of libs/contracts on a controller method (in a `@Controller()` without a prefix):
 * its method and path, its success status, and its OpenAPI operation (summary, parameters, body and
 * every declared answer) built from the contract's own schemas, so the server, its clients and its
 * document cannot drift apart. Validate the body and parameters with `new ZodPipe(route.request)` and
 * `new ZodPipe(route.params.<name>)`. Given the service's schema registry, a body or answer documented
 * as one of its components is a `$ref` to it, so typed clients get that component's name.
 */
export function ContractRoute(route: HttpRouteContract, schemas?: ApiSchemaRegistry): MethodDecorator {
  const documented = (schema: z.ZodType, io: SchemaIo): Record<string, unknown> => {
    const name = schemas?.nameOf(schema, io);
    return name === undefined ? openApiSchema(schema, io) : ref(name);
  };
  const decorators: MethodDecorator[] = [
    RequestMapping({ path: route.path, method: METHODS[route.method] }),
    SetMetadata(CONTRACT_ROUTE, route),
    HttpCode(successStatus(route)),
    ApiOperation({ summary: route.summary, ...(route.description && { description: route.description }) }),
    ...Object.entries<PathParamSchema>(route.params).map(([name, schema]) =>
      ApiParam({ name, schema: openApiSchema(schema, 'input') }),
    ),
    ...Object.entries(route.responses).map(([status, schema]) =>
      ApiResponse({
        status: Number(status),
        description: schema.description ?? (Number(status) < 300 ? 'OK' : 'Refused'),
        ...(Number(status) >= 400
          ? { content: problemContent(documented(schema, 'output')) }
          : { schema: documented(schema, 'output') }),
      }),
    ),
  ];
  if (route.request) {
    const schema = documented(route.request, 'input');
    // A $ref drops the body's own description, so the body carries it.
    const description = '$ref' in schema ? route.request.description : undefined;
    decorators.push(ApiBody({ schema, ...(description !== undefined && { description }) }));
  }
  return applyDecorators(...decorators);
}

/** Refusals are RFC 9457 problem details (see HttpExceptionFilter). */
export const problemContent = (schema: Record<string, unknown>) => ({
  'application/problem+json': { schema },
});
