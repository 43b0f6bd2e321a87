import { z } from 'zod';
import type { HttpRouteContract } from './http-route';
import { schemaChangeProblems } from '../schema-compatibility';

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw' });

/**
 * A route's contract as committed under libs/contracts/schemas/http: its method and path, and the
 * JSON Schema of its path parameters, query, request body (as the server reads them) and of each
 * answer by status (as the server writes them).
 */
export function httpRouteJsonSchema(route: HttpRouteContract): Record<string, unknown> {
  return {
    name: route.name,
    audience: route.audience,
    ...(route.callers && { callers: route.callers }),
    method: route.method,
    path: route.path,
    params: jsonSchema(z.object(route.params), 'input'),
    ...(route.query && { query: jsonSchema(route.query, 'input') }),
    ...(route.request && { request: jsonSchema(route.request, 'input') }),
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, schema]) => [status, jsonSchema(schema, 'output')]),
    ),
  };
}

const part = (document: unknown, key: string): unknown =>
  typeof document === 'object' && document !== null ? (document as Record<string, unknown>)[key] : undefined;

/**
 * Why a route's new contract cannot replace the committed one. Clients and servers validate, so
 * method, path and audience are fixed; parameters, request and each answer may only gain optional
 * properties; an answer status may be added but not removed. Anything else needs a new route
 * (a new /vN/ path).
 */
export function httpRouteChangeProblems(before: unknown, after: unknown): string[] {
  const problems: string[] = [];
  for (const key of ['method', 'path', 'audience'])
    if (part(before, key) !== part(after, key))
      problems.push(`${key}: changed from ${String(part(before, key))} to ${String(part(after, key))}`);
  for (const key of ['params', 'query', 'request'])
    problems.push(...schemaChangeProblems(part(before, key), part(after, key), `$${key}`));
  const oldAnswers = (part(before, 'responses') ?? {}) as Record<string, unknown>;
  const newAnswers = (part(after, 'responses') ?? {}) as Record<string, unknown>;
  for (const status of Object.keys(oldAnswers)) {
    if (!(status in newAnswers)) problems.push(`responses.${status}: removed`);
    else problems.push(...schemaChangeProblems(oldAnswers[status], newAnswers[status], `$${status}`));
  }
  return problems;
}
