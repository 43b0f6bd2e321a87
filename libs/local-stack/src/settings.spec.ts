import { DEFAULT_PORTS } from '@meterkeep/config';
import { describe, expect, it } from 'vitest';
import { StackError, stackSettings } from './settings';

describe('stackSettings', () => {
  it("gives each state dir the database and Redis db the shell script gave it (sha256's first 8 hex digits)", () => {
    // bash: printf '%s' "$dir" | sha256sum | cut -c1-8 → 566aded8; $(( 16#566a % 10 + 1 )) → 3
    const settings = stackSettings({ METERKEEP_STACK_DIR: '/srv/checkout-a/.local-stack' });
    expect(settings.stackId).toBe('566aded8');
    expect(settings.postgres.database).toBe('meterkeep_566aded8');
    expect(settings.redis.db).toBe(3);
    expect(settings.kafka.marker).toBe('-Dmeterkeep.stack=kafka:/srv/checkout-a/.local-stack');
    expect(settings.kafka.pidFile).toBe('/srv/checkout-a/.local-stack/kafka/kafka.pid');
    expect(settings.s3.credentials).toBe('/srv/checkout-a/.local-stack/s3proxy/credentials.env');
  });

  it('listens on the table of default ports unless told otherwise', () => {
    const settings = stackSettings({ METERKEEP_STACK_DIR: '/tmp/x' });
    expect(settings.kafka.port).toBe(DEFAULT_PORTS.stack.kafka);
    expect(settings.kafka.controllerPort).toBe(DEFAULT_PORTS.stack.kafkaController);
    expect(settings.s3.port).toBe(DEFAULT_PORTS.stack.s3);
    expect(settings.postgres.port).toBe(DEFAULT_PORTS.stack.postgres);
    expect(settings.redis.port).toBe(DEFAULT_PORTS.stack.redis);
    expect(settings.kafka.heapOpts).toEqual(['-Xms256m', '-Xmx512m']);
    expect(settings.waitSeconds).toBe(90);
  });

  it('takes the overrides stack.sh has always taken', () => {
    const settings = stackSettings({
      METERKEEP_STACK_DIR: '/tmp/x',
      KAFKA_PORT: '24092',
      KAFKA_CONTROLLER_PORT: '24093',
      S3_PORT: '24000',
      STACK_WAIT_SECONDS: '5',
      KAFKA_HEAP_OPTS: '-Xms128m  -Xmx256m',
      METERKEEP_PG_DB: 'mine',
      METERKEEP_REDIS_DB: '3',
    });
    expect(settings.kafka).toMatchObject({
      port: 24092,
      controllerPort: 24093,
      heapOpts: ['-Xms128m', '-Xmx256m'],
    });
    expect(settings.s3.port).toBe(24000);
    expect(settings.waitSeconds).toBe(5);
    expect(settings.postgres.database).toBe('mine');
    expect(settings.redis.db).toBe(3);
  });

  it('refuses a port that is not one', () => {
    expect(() => stackSettings({ KAFKA_PORT: 'ninety' })).toThrow(StackError);
    expect(() => stackSettings({ S3_PORT: '70000' })).toThrow(/S3_PORT=70000 is not a port/);
  });
});
