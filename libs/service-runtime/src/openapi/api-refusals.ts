import { ApiResponse } from '@nestjs/swagger';
import { applyDecorators } from '@nestjs/common';
import { z } from 'zod';
import type { ErrorCatalogue } from '../errors/error-catalogue';
import { openApiSchema } from './api-schemas';

/**
 * The error answers of a route, generated from its module's error catalogue: one response per status,
 * listing each code with its message, its body schema naming the codes, and Retry-After where the
 * status carries it. Nothing is retyped, so the document cannot drift from what the route throws.
 */
export function ApiRefusals<C extends string>(
  catalogue: ErrorCatalogue<C>,
  codes: readonly C[],
): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, C[]>();
  for (const code of codes) {
    const { status } = catalogue.definitions[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({
        status,
        description: group.map((code) => `\`${code}\`: ${catalogue.definitions[code].message}`).join('\n\n'),
        schema: openApiSchema(
          z.object({
            code: z.enum(group as [C, ...C[]]),
            message: z.string(),
            details: z.record(z.string(), z.unknown()).optional(),
          }),
        ),
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
