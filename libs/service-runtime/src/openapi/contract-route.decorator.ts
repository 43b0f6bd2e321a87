import { HttpCode, RequestMapping, RequestMethod, SetMetadata, applyDecorators } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import {
  type HttpMethod,
  type HttpRouteContract,
  type PathParamSchema,
  successStatus,
} from '@meterkeep/contracts';
import { openApiSchema } from './api-schemas';

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
 * `new ZodPipe(route.params.<name>)`.
 */
export function ContractRoute(route: HttpRouteContract): MethodDecorator {
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
          ? { content: problemContent(openApiSchema(schema, 'output')) }
          : { schema: openApiSchema(schema, 'output') }),
      }),
    ),
  ];
  if (route.request) decorators.push(ApiBody({ schema: openApiSchema(route.request, 'input') }));
  return applyDecorators(...decorators);
}

/** Refusals are RFC 9457 problem details (see HttpExceptionFilter). */
export const problemContent = (schema: ReturnType<typeof openApiSchema>) => ({
  'application/problem+json': { schema },
});
