import { once } from 'node:events';
import { type Logger, withTimeout } from '@meterkeep/observability';
import { Redis } from 'ioredis';

// Consumers type their injected client without importing ioredis (lint keeps it inside this lib).
export type { Redis } from 'ioredis';

export interface RedisOptions {
  logger?: Logger;
  /** Prepended to every key by ioredis (not to SCAN/KEYS results): e.g. `bootstrap:`. */
  keyPrefix?: string;
  /** Longest a command may take, queued or sent, before it rejects; 2 s unless set. */
  commandTimeoutMs?: number;
  /** Longest a TCP connect may take; 3 s unless set. */
  connectTimeoutMs?: number;
  /** The ACL user and its password (else those of the URL, if any). */
  username?: string;
  password?: string;
  /** For rediss://: the CA the server's certificate chains to (else the system's). */
  tls?: { ca: string };
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential from 50 ms, capped at 2 s, with
 * jitter so a fleet of pods does not reconnect in lock-step. Never gives up: Redis coming back must
 * heal the service without a restart.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(50 * 2 ** Math.max(0, attempt - 1), 2_000);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * An ioredis client that fails fast instead of queueing forever while Redis is down.
 *
 * - lazyConnect: no socket until the first command (or `connect()`), so building it never throws.
 * - enableOfflineQueue stays on: the command that triggers the lazy connect, and commands during a
 *   brief reconnect, wait for the connection instead of failing at once...
 * - ...but maxRetriesPerRequest: 1 flushes that queue with an error after two failed connection
 *   attempts (tens of ms when the port is closed), and commandTimeout bounds a hung server.
 * - 'error' events are logged once per outage, never left unhandled.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const { logger, keyPrefix, commandTimeoutMs = 2_000, connectTimeoutMs = 3_000 } = options;
  const { username, password, tls } = options;
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (attempt) => reconnectDelayMs(attempt),
    // After a managed-Redis failover the old primary answers READONLY: reconnect and resend.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
    ...(keyPrefix ? { keyPrefix } : {}),
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(tls !== undefined && { tls }),
  });

  let outage = false;
  redis.on('error', (error: Error) => {
    if (outage) {
      logger?.debug({ err: error }, 'redis: still unreachable');
      return;
    }
    outage = true;
    if (logger)
      logger.error({ err: error }, 'redis: connection failed; commands fail fast while it reconnects');
    else
      process.emitWarning(
        `redis: connection failed (${error.message}); reconnecting`,
        'RedisConnectionWarning',
      );
  });
  redis.on('ready', () => {
    if (outage) logger?.info('redis: reconnected');
    outage = false;
  });
  return redis;
}

/**
 * Closes the client for shutdown: QUIT when connected (pending replies arrive first), otherwise a
 * plain disconnect, so shutting down never opens a connection or waits on a dead server. Resolves
 * once the socket is closed.
 */
export async function closeRedis(redis: Redis, timeoutMs = 2_000): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    // QUIT resolves on its OK; 'end' follows once the socket has closed.
    await withTimeout(Promise.all([redis.quit(), once(redis, 'end')]), timeoutMs, 'redis QUIT');
  } catch {
    redis.disconnect();
  }
}
