import { z } from 'zod';
import { hostname } from '@meterkeep/contracts';

/** Schemas of single setting values, for services' own config schemas. */

const KEY_HINT = '32 bytes, base64-encoded (openssl rand -base64 32)';

/**
 * A 256-bit key given as base64 (`openssl rand -base64 32`), read as a Buffer: a key-encryption key.
 * The message is `<name>: 32 bytes, …` when a name is given, else `must be 32 bytes, …`.
 */
export function base64KeySchema(name?: string) {
  const message = name === undefined ? `must be ${KEY_HINT}` : `${name}: ${KEY_HINT}`;
  return z.string().transform((value, context) => {
    const key = Buffer.from(value, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || key.length !== 32) {
      context.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return key;
  });
}

/** An http:// or https:// URL, such as another service's cluster-internal address. */
export const httpUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** An https:// URL, such as an address meters are sent to. */
export const httpsUrlSchema = z.url({ protocol: /^https$/, error: 'must be an https:// URL' });

/** A DNS name or an IP address, as a server certificate's subject alternative names carry them. */
export const hostnameSchema = hostname;

/** A comma-separated list of one or more entries, each read by `entry` (blanks around entries ignored). */
export function commaListSchema<T extends z.ZodType<unknown, string>>(entry: T) {
  return z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .pipe(z.array(entry).min(1));
}

/** A comma-separated list of one or more DNS names and IP addresses. */
export const hostnameListSchema = commaListSchema(hostnameSchema);
