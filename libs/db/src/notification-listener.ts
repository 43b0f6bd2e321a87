import { randomBytes } from 'node:crypto';
import type { Logger } from '@meterkeep/observability';
import { Client } from 'pg';

/** Payloads starting so are the listener's own fences; an application's payloads must not. */
const FENCE_PREFIX = 'fence ';

export interface NotificationListenerOptions {
  /** postgres://... (the service's DATABASE_URL; LISTEN needs no search_path). */
  url: string;
  /** The channel, as pg_notify names it (at most 63 bytes). */
  channel: string;
  /** Each notification's payload, transactions in commit order; never a fence's. */
  onNotification: (payload: string) => void;
  /**
   * true once LISTEN holds on a fresh connection; false as soon as that connection is lost (or a
   * heartbeat fails). Notifications committed meanwhile are lost: a cache must drop everything.
   */
  onListening: (listening: boolean) => void;
  logger?: Logger;
  /** A fence this often proves the connection delivers; 5 s unless set, 0 never. */
  heartbeatMs?: number;
  /** How long a fence waits for its own notification; 2 s unless set. */
  fenceTimeoutMs?: number;
  /** Reconnection back-off: from `initialMs`, doubling up to `maxMs` (100 ms, 5 s unless set). */
  retry?: { initialMs: number; maxMs: number };
  applicationName?: string;
}

/**
 * One dedicated PostgreSQL connection LISTENing on a channel (pooled connections cannot: LISTEN lives
 * as long as its session). Reconnects on its own with back-off, and reports whether it listens, so
 * whoever trusts its notifications knows when it may not. NOTIFY issued in a transaction is delivered
 * only once that transaction commits, and transactions' notifications in commit order: `fence()` uses
 * that to wait until every change committed before it was delivered.
 */
export class NotificationListener {
  private client: Client | undefined;
  private listening = false;
  private stopped = true;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private readonly token = randomBytes(6).toString('hex');
  private fenceCount = 0;
  private readonly fences = new Map<string, () => void>();
  /** The fence callers join until it is sent; the last one queued or sent (sendFence never rejects). */
  private nextFence: Promise<boolean> | undefined;
  private lastFence: Promise<boolean> = Promise.resolve(true);

  constructor(private readonly options: NotificationListenerOptions) {
    if (Buffer.byteLength(options.channel) > 63) throw new Error('A channel name has at most 63 bytes');
    this.delayMs = options.retry?.initialMs ?? 100;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** Connects in the background (and again whenever the connection is lost) until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
    const every = this.options.heartbeatMs ?? 5_000;
    if (every > 0) {
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), every);
      this.heartbeatTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    this.lost(client);
    await client?.end().catch(() => undefined);
  }

  /**
   * Resolves true once every notification of the transactions committed before this call was handed
   * to onNotification: its own notification, committed after them, came back on this connection.
   * False when not listening, or the connection fails or stays silent for the fence timeout.
   *
   * Fences are grouped: one not sent yet is shared by every caller until it goes (sent after all their
   * calls, it covers them all), and one goes at a time. Each is a transaction that takes PostgreSQL's
   * server-wide NOTIFY lock at commit, so a burst of commits costs two fences, not one each.
   */
  fence(): Promise<boolean> {
    if (this.nextFence) return this.nextFence;
    const next: Promise<boolean> = this.lastFence.then(() => {
      this.nextFence = undefined;
      return this.sendFence();
    });
    this.nextFence = next;
    this.lastFence = next;
    return next;
  }

  private async sendFence(): Promise<boolean> {
    const client = this.client;
    if (!client || !this.listening) return false;
    const payload = `${FENCE_PREFIX}${this.token} ${++this.fenceCount}`;
    let timer: NodeJS.Timeout | undefined;
    const delivered = new Promise<boolean>((resolve) => {
      this.fences.set(payload, () => resolve(true));
      timer = setTimeout(() => resolve(false), this.options.fenceTimeoutMs ?? 2_000);
    });
    try {
      await client.query('select pg_notify($1, $2)', [this.options.channel, payload]);
      return await delivered;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      this.fences.delete(payload);
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.options.url,
      application_name: this.options.applicationName ?? 'listener',
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    this.client = client;
    client.on('error', (error) => {
      this.options.logger?.warn({ err: error, channel: this.options.channel }, 'postgres: listener failed');
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel !== this.options.channel || message.payload === undefined) return;
      if (message.payload.startsWith(FENCE_PREFIX)) return this.fences.get(message.payload)?.();
      this.options.onNotification(message.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${client.escapeIdentifier(this.options.channel)}`);
    } catch (error) {
      this.options.logger?.warn(
        { err: error, channel: this.options.channel },
        'postgres: listener could not connect',
      );
      this.lost(client);
      return;
    }
    if (this.client !== client || this.stopped) return;
    this.delayMs = this.options.retry?.initialMs ?? 100;
    this.listening = true;
    this.options.logger?.info({ channel: this.options.channel }, 'postgres: listening');
    this.options.onListening(true);
  }

  /** The connection `client` is gone (or failed a heartbeat): report it once, then reconnect. */
  private lost(client: Client | undefined): void {
    if (!client || this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('notification');
    // An 'error' after this must not crash the process.
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.listening) {
      this.listening = false;
      this.options.onListening(false);
    }
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), this.delayMs);
    this.reconnectTimer.unref();
    this.delayMs = Math.min(this.delayMs * 2, this.options.retry?.maxMs ?? 5_000);
  }

  private async heartbeat(): Promise<void> {
    const client = this.client;
    if (!client || !this.listening) return;
    if (await this.fence()) return;
    // A connection that answers nothing may deliver nothing either: start over.
    if (this.client === client && this.listening) {
      this.options.logger?.warn({ channel: this.options.channel }, 'postgres: listener heartbeat failed');
      this.lost(client);
    }
  }
}
