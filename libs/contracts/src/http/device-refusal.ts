import { z } from 'zod';

/**
 * The body of every refusal a device API answers: `{ code, message }` with a stable UPPER_SNAKE_CASE
 * code (each API lists the codes it may answer, and their status). `code` stays a string here so a
 * meter reads a code it does not know yet (a newer server, a proxy's 502) instead of failing to parse.
 */
export const deviceRefusal = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type DeviceRefusal = z.infer<typeof deviceRefusal>;

/** HTTP statuses a device API refuses with. */
export type RefusalStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

/**
 * The code and message of a non-2xx answer, as a meter reads it: what is missing or not a refusal
 * (an empty body, a proxy's HTML page) reads as code UNKNOWN with an empty message.
 */
export function readDeviceRefusal(body: unknown): { code: string; message: string } {
  const parsed = deviceRefusal.partial().safeParse(body);
  const { code = 'UNKNOWN', message = '' } = parsed.success ? parsed.data : {};
  return { code, message };
}
