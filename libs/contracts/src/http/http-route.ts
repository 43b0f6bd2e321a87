import { z } from 'zod';

/**
 * HTTP contracts between processes, as `defineTopic` is for Kafka: one definition of a route's method,
 * path, path parameters, request body and answers (per status), imported by the server (which takes
 * its path from it and validates requests with its schemas) and by the client (which builds the path
 * from it and validates the answer with it). Each route's JSON Schemas are committed under
 * libs/contracts/schemas/http and a test fails when one changes incompatibly.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who calls a route: another service, a meter (mutual TLS), or an operator (API key). */
export type HttpAudience = 'internal' | 'device' | 'operator';

/** Every internal (service-to-service) route lives under this prefix, never exposed by an ingress. */
export const INTERNAL_PATH_PREFIX = '/internal/';

/**
 * Who may call an internal route, by the service name in their platform certificate (its CN): a
 * fixed list of services, or any caller the serving service grants by its own configuration (named
 * here), checked per request. Kept beside the route so every internal route names its callers.
 */
export type InternalCallers =
  { readonly services: readonly [string, ...string[]] } | { readonly grantedBy: string };

/** Route names are `<serving service>.<subject>.<verb>`, such as `enrollment.psk-proofs.check`. */
export const HTTP_ROUTE_NAME = /^[a-z]+(-[a-z]+)*(\.[a-z0-9]+(-[a-z0-9]+)*){2,}$/;

/** The `:name` parameters of a path template, as a union of names. */
export type PathParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** The values a path template needs, one string per `:name`. */
export type PathParams<P extends string> = { readonly [K in PathParamNames<P>]: string };

/** A path parameter's schema: a string in, a string out. */
export type PathParamSchema = z.ZodType<string, string>;

/** The answers a route may give, by status: what a client accepts as an answer. */
export type HttpResponses = { readonly [status: number]: z.ZodType };

/** The error body every service answers with (its HttpExceptionFilter), as clients read it. */
export const httpErrorBody = z.object({
  code: z.string().describe('Stable, machine-readable: UPPER_SNAKE_CASE'),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  errorId: z.string().optional().describe('On 500 only: the id under which the error was logged'),
  // RFC 9457 problem details (application/problem+json); `code` and `message` stay the stable pair.
  type: z.string().optional().describe('RFC 9457: a URI naming the problem, one per code (its kebab-case)'),
  title: z.string().optional().describe('RFC 9457: the HTTP status phrase'),
  status: z.number().int().optional().describe('RFC 9457: the HTTP status'),
  detail: z.string().optional().describe('RFC 9457: as `message`'),
});
export type HttpErrorBody = z.infer<typeof httpErrorBody>;

/** An error answer of a route, with what it means (shown in the OpenAPI document). */
export const httpError = (description: string) => httpErrorBody.describe(description);

/** One exchange on a route, validated by a test and shown in docs. */
export interface HttpRouteExample<
  P extends string = string,
  Req extends z.ZodType | undefined = z.ZodType | undefined,
  Res extends HttpResponses = HttpResponses,
> {
  readonly title: string;
  readonly params?: PathParams<P>;
  readonly query?: Readonly<Record<string, string>>;
  readonly request?: Req extends z.ZodType ? z.input<Req> : never;
  readonly status: keyof Res & number;
  readonly response: z.input<Res[keyof Res & number]>;
}

export interface HttpRouteContract<
  P extends string = string,
  Req extends z.ZodType | undefined = z.ZodType | undefined,
  Res extends HttpResponses = HttpResponses,
> {
  readonly name: string;
  readonly audience: HttpAudience;
  /** Internal routes only, and required there: who may call it. */
  readonly callers?: InternalCallers;
  readonly method: HttpMethod;
  /** The path template with `:name` parameters, as NestJS routes take it: `/internal/v1/x/:id`. */
  readonly path: P;
  /** One summary line for the OpenAPI document. */
  readonly summary: string;
  readonly description?: string;
  /** A schema per path parameter; the server validates each with it. */
  readonly params: { readonly [K in PathParamNames<P>]: PathParamSchema };
  /** The query string's parameters, when the route reads any. */
  readonly query?: z.ZodType<Record<string, unknown>, Record<string, string>>;
  /** The JSON request body, when the route takes one. */
  readonly request: Req;
  /** Every answer a client should understand, by status; anything else is a failure. */
  readonly responses: Res;
  readonly examples: readonly HttpRouteExample<P, Req, Res>[];
  /** The path with each parameter filled in, URL-encoded. */
  pathFor(params: PathParams<P>): string;
}

type DefinedParams<P extends string> = [PathParamNames<P>] extends [never]
  ? { params?: Record<string, never> }
  : { params: { readonly [K in PathParamNames<P>]: PathParamSchema } };

export type HttpRouteDefinition<
  P extends string,
  Req extends z.ZodType | undefined,
  Res extends HttpResponses,
> = Omit<HttpRouteContract<P, Req, Res>, 'params' | 'request' | 'pathFor' | 'examples'> &
  DefinedParams<P> & {
    request?: Req;
    /** At least one, with the success answer; checked by a test. */
    examples: readonly HttpRouteExample<P, NoInfer<Req>, NoInfer<Res>>[];
  };

/** The `:name` parameters of a template, in order. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z][A-Za-z0-9]*)/g)].map((match) => match[1]!);
}

/** Fills a path template's parameters, URL-encoded; a missing parameter is a programming error. */
export function fillPath(path: string, params: Readonly<Record<string, string>>): string {
  return path.replace(/:([A-Za-z][A-Za-z0-9]*)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`No value for :${name} in ${path}`);
    return encodeURIComponent(value);
  });
}

export function defineHttpRoute<
  const P extends string,
  Res extends HttpResponses,
  Req extends z.ZodType | undefined = undefined,
>(definition: HttpRouteDefinition<P, Req, Res>): HttpRouteContract<P, Req, Res> {
  if (!HTTP_ROUTE_NAME.test(definition.name))
    throw new Error(`Route name ${definition.name} does not follow <service>.<subject>.<verb>`);
  if (!definition.path.startsWith('/')) throw new Error(`Route ${definition.name}: path must start with /`);
  if ((definition.audience === 'internal') !== definition.path.startsWith(INTERNAL_PATH_PREFIX))
    throw new Error(
      `Route ${definition.name}: internal routes, and only they, live under ${INTERNAL_PATH_PREFIX}`,
    );
  const names = pathParamNames(definition.path);
  const params = (definition.params ?? {}) as Record<string, PathParamSchema>;
  const declared = Object.keys(params);
  if (names.length !== declared.length || names.some((name) => !(name in params)))
    throw new Error(
      `Route ${definition.name}: params (${declared.join(', ')}) must match the path's (${names.join(', ')})`,
    );
  if (definition.request !== undefined && definition.method === 'GET')
    throw new Error(`Route ${definition.name}: a GET takes no request body`);
  if ((definition.audience === 'internal') !== (definition.callers !== undefined))
    throw new Error(`Route ${definition.name}: internal routes, and only they, name their callers`);
  if (Object.keys(definition.responses).length === 0)
    throw new Error(`Route ${definition.name}: declares no answer`);
  return {
    ...definition,
    params: params as HttpRouteContract<P, Req, Res>['params'],
    // Absent only when Req is undefined (its default): a route without a body.
    request: definition.request as Req,
    pathFor: (values) => fillPath(definition.path, values),
  };
}

/** The status of a route's success answer: the lowest 2xx it declares. */
export function successStatus(route: HttpRouteContract): number {
  const statuses = Object.keys(route.responses)
    .map(Number)
    .filter((status) => status >= 200 && status < 300)
    .sort((a, b) => a - b);
  if (statuses[0] === undefined) throw new Error(`Route ${route.name} declares no 2xx answer`);
  return statuses[0];
}

export class HttpContractViolationError extends Error {
  constructor(
    readonly route: string,
    readonly part: string,
    readonly issues: string[],
  ) {
    super(`${part} of ${route} violates its contract: ${issues.join('; ')}`);
    this.name = 'HttpContractViolationError';
  }
}

function check<T extends z.ZodType>(route: string, part: string, schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new HttpContractViolationError(
      route,
      part,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  return result.data;
}

/** Parses a request body against its route's schema; the error lists every issue with its path. */
export function validateHttpRequest<Req extends z.ZodType>(
  route: HttpRouteContract<string, Req>,
  body: unknown,
): z.output<Req> {
  return check(route.name, 'The request', route.request, body);
}

/** Parses an answer against the schema its route declares for that status. */
export function validateHttpResponse(route: HttpRouteContract, status: number, body: unknown): unknown {
  const schema = route.responses[status];
  if (schema === undefined)
    throw new HttpContractViolationError(route.name, `A ${status} answer`, ['status not declared']);
  return check(route.name, `The ${status} answer`, schema, body);
}
