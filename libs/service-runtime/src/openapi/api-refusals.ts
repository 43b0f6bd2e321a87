import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { HttpRouteContract } from '@meterkeep/contracts';
import type { ErrorCatalogue } from '../errors/error-catalogue';
import { openApiSchema } from './api-schemas';
import { problemContent } from './contract-route.decorator';

/** The codes a route's contract declares for one status (an error body whose `code` is an enum). */
export function declaredRefusalCodes(route: HttpRouteContract, status: number): string[] {
  const schema = route.responses[status] as { shape?: { code?: { options?: unknown } } } | undefined;
  const options = schema?.shape?.code?.options;
  return Array.isArray(options) ? options.filter((code): code is string => typeof code === 'string') : [];
}

/**
 * The error answers of a route, as its contract declares them (body schema per status), described
 * from its module's error catalogue: each code with its message, and Retry-After where the status
 * carries it. Put it above `@ContractRoute(route)`: it replaces that decorator's bare error answers.
 * Nothing is retyped, so the document cannot drift from the contract or from what the route throws.
 */
export function ApiRefusals<C extends string>(
  route: HttpRouteContract,
  catalogue: ErrorCatalogue<C>,
): MethodDecorator {
  const statuses = Object.keys(route.responses)
    .map(Number)
    .filter((status) => status >= 400);
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: declaredRefusalCodes(route, status)
          .map((code) => `\`${code}\`: ${catalogue.definitions[code as C]?.message ?? '(undocumented)'}`)
          .join('\n\n'),
        content: problemContent(openApiSchema(route.responses[status]!, 'output')),
        ...((status === 429 || status === 503) && {
          headers: {
            'Retry-After': {
              description: 'Seconds to wait before trying again',
              schema: { type: 'integer' },
            },
          },
        }),
      }),
    ),
  );
}
