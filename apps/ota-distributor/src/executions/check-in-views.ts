import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { NotificationListener } from '@meterkeep/db';
import type { Logger } from '@meterkeep/observability';
import type { AfterCommit } from '@meterkeep/outbox';
import { LOGGER } from '@meterkeep/service-runtime';
import { CheckInViewCache, parseCheckInChange } from './check-in-view-cache';
import { type CheckInView, ExecutionsRepository } from './executions.repository';

export const CHECK_IN_VIEWS_SETTINGS = Symbol('ota-distributor:check-in-views-settings');

export interface CheckInViewsSettings {
  /** The database the listener connects to (DATABASE_URL). */
  url: string;
  /** The service's schema: its triggers notify `check_in_views.<schema>` (migration 0008). */
  schema: string;
  /** OTA_CHECK_IN_CACHE_ENTRIES; 0 turns the cache off. */
  maxEntries: number;
  /** This replica (OTA_INSTANCE_ID): the listener's application_name. */
  instanceId: string;
  /** How soon the listener reconnects after a loss (100 ms, doubling to 5 s, unless set). */
  reconnectMs?: number;
}

/** The channel migration 0008's triggers notify for `schema` (pg_notify takes at most 63 bytes). */
export const checkInChannel = (schema: string) => `check_in_views.${schema}`.slice(0, 63);

/**
 * Meters' check-in views (ExecutionsRepository.checkInView), kept in memory so a check-in answered
 * 304 touches no database. Correct across replicas: every table the view reads notifies what a commit
 * changed (migration 0008), heard on one dedicated connection per replica; while that connection is
 * not listening (start, loss, reconnection) the cache is bypassed, and it is emptied whenever it
 * starts or stops listening, so a change committed unheard is never answered from memory. Readiness
 * does not depend on it: without it a replica answers from PostgreSQL, as before.
 * After its own commits a replica waits (AfterCommit) until it has heard them: a use case's next
 * read sees its write. Another replica's commit is heard within NOTIFY's delivery time.
 */
@Injectable()
export class CheckInViews implements AfterCommit, OnModuleInit, OnApplicationShutdown {
  private readonly cache: CheckInViewCache;
  private readonly listener: NotificationListener | undefined;

  constructor(
    private readonly executions: ExecutionsRepository,
    @Inject(CHECK_IN_VIEWS_SETTINGS) settings: CheckInViewsSettings,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.cache = new CheckInViewCache(settings.maxEntries);
    if (settings.maxEntries === 0) return;
    this.listener = new NotificationListener({
      url: settings.url,
      channel: checkInChannel(settings.schema),
      applicationName: `check-in-views ${settings.instanceId}`.slice(0, 63),
      ...(settings.reconnectMs !== undefined && {
        retry: { initialMs: settings.reconnectMs, maxMs: settings.reconnectMs },
      }),
      logger: logger.child({ component: 'check-in-views' }),
      onNotification: (payload) => this.cache.apply(parseCheckInChange(payload)),
      onListening: (listening) => this.cache.setTrusted(listening),
    });
  }

  /** Hits, misses and bypassed reads since start. */
  get stats(): Readonly<CheckInViewCache['stats']> {
    return this.cache.stats;
  }

  /** Whether views are answered from memory now. */
  get listening(): boolean {
    return this.listener?.isListening ?? false;
  }

  /** The meter's view: from memory when it holds it and may, else one indexed read (then kept). */
  get(tenantId: string, deviceId: string): Promise<CheckInView> {
    return this.cache.get(tenantId, deviceId, () => this.executions.checkInView(tenantId, deviceId));
  }

  /**
   * Resolves once what every transaction committed before the call made stale is dropped here (a
   * fence on the listening connection); when that cannot be shown, everything is dropped.
   */
  async settle(): Promise<void> {
    if (!this.listener?.isListening || !this.cache.busy) return;
    if (!(await this.listener.fence())) this.cache.clear();
  }

  afterCommit(): Promise<void> {
    return this.settle();
  }

  onModuleInit(): void {
    this.listener?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener?.stop();
  }
}
