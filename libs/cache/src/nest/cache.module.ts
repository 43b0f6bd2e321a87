import {
  type DynamicModule,
  Inject,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis, type RedisOptions } from '../redis.factory';
import { RedisHealthProbe } from '../redis-health.probe';
import { REDIS } from './cache.tokens';

export interface CacheModuleOptions extends RedisOptions {
  url: string;
}

/** The service's Redis: provides REDIS and RedisHealthProbe everywhere, quits on shutdown. */
@Module({})
export class CacheModule implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  static forRoot({ url, ...options }: CacheModuleOptions): DynamicModule {
    return {
      module: CacheModule,
      global: true,
      providers: [
        { provide: REDIS, useFactory: () => createRedis(url, options) },
        {
          provide: RedisHealthProbe,
          useFactory: (redis: Redis) => new RedisHealthProbe(redis),
          inject: [REDIS],
        },
      ],
      exports: [REDIS, RedisHealthProbe],
    };
  }

  // Connect early so the first request does not pay for it, but do not hold start-up hostage:
  // Redis holds no data of record, and readiness reports it while it is down.
  onModuleInit(): void {
    this.redis.connect().catch(() => {
      // Already logged by the client's 'error' handler; it keeps reconnecting.
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.redis);
  }
}
