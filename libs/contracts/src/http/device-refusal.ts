import { z } from 'zod';
import { httpErrorBody } from './http-route';

/** HTTP statuses a device API refuses with. */
export type RefusalStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

const refusalBody = (codes: readonly [string, ...string[]]) =>
  httpErrorBody.extend({ code: z.enum(codes) }).describe(codes.join(', '));
/** An error answer whose `code` is one of a list. */
export type RefusalBody = ReturnType<typeof refusalBody>;

/**
 * A route's error answers, one per status, from its refusal codes: the error body with `code` one
 * of those the route answers with that status (a device API's table of code → status).
 */
export function refusalResponses<
  const T extends Readonly<Record<string, RefusalStatus>>,
  const C extends readonly (keyof T & string)[],
>(statuses: T, codes: C): { readonly [S in T[C[number]]]: RefusalBody } {
  const byStatus = new Map<RefusalStatus, string[]>();
  for (const code of codes) byStatus.set(statuses[code]!, [...(byStatus.get(statuses[code]!) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => [status, refusalBody(group as [string, ...string[]])]),
  ) as { readonly [S in T[C[number]]]: RefusalBody };
}

/**
 * The code and message of a non-2xx answer, as a meter reads it: a code it does not know (a newer
 * server, a proxy's 502) is kept as it is; what is not an error body at all (an empty body, a
 * proxy's HTML page) reads as code UNKNOWN with an empty message.
 */
export function readDeviceRefusal(body: unknown): { code: string; message: string } {
  const parsed = httpErrorBody.partial().safeParse(body);
  const { code = 'UNKNOWN', message = '' } = parsed.success ? parsed.data : {};
  return { code, message };
}
