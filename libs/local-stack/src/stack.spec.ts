import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StackClients } from './context';
import { kafkaServerProperties, newClusterId } from './kafka';
import { StackError } from './settings';
import { LocalStack, statusLines } from './stack';
import { formatEnvExports, parseEnvExports, stackEnvFrom } from './stack-env';

const dirs: string[] = [];
const stateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'mk-stack-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const down = () => Promise.reject(new Error('refused'));
const clients = (up: Partial<Record<keyof StackClients, boolean>>): StackClients & { calls: string[] } => {
  const calls: string[] = [];
  const answer = (name: keyof StackClients) => (what: unknown) => {
    calls.push(`${name} ${JSON.stringify(what)}`);
    return up[name] ? Promise.resolve() : down();
  };
  return {
    calls,
    postgresSelect1: answer('postgresSelect1'),
    postgresProvision: answer('postgresProvision'),
    redisPing: answer('redisPing'),
    redisSetUsers: answer('redisSetUsers'),
    kafkaDescribeCluster: answer('kafkaDescribeCluster'),
    kafkaProvision: answer('kafkaProvision'),
    s3ListBuckets: answer('s3ListBuckets'),
  };
};

describe('LocalStack', () => {
  it('reports each component with the same lines stack.sh status printed', async () => {
    const dir = stateDir();
    const fake = clients({ postgresSelect1: true, redisPing: true, kafkaDescribeCluster: true });
    const stack = new LocalStack({ env: { METERKEEP_STACK_DIR: dir, KAFKA_PORT: '24092' }, clients: fake });
    const status = await stack.status();
    expect(statusLines(status)).toBe(
      [
        'postgres  up    127.0.0.1:5432',
        'redis     up    127.0.0.1:6379',
        'kafka     down  127.0.0.1:24092',
        's3proxy   down  http://127.0.0.1:19000',
        '',
      ].join('\n'),
    );
    // No server of ours runs (no pid file): the broker is not even asked.
    expect(fake.calls.some((call) => call.startsWith('kafkaDescribeCluster'))).toBe(false);
    expect(fake.calls).toContain('postgresSelect1 "postgres://postgres@127.0.0.1:5432/postgres"');
  });

  it('tells a running server that does not answer from one that is not running', () => {
    expect(
      statusLines([
        { name: 'kafka', up: true, address: '127.0.0.1:19092', pid: 41 },
        { name: 's3proxy', up: false, address: 'http://127.0.0.1:19000', pid: 42 },
      ]),
    ).toBe(
      'kafka     up    127.0.0.1:19092 (pid 41)\n' +
        's3proxy   down  http://127.0.0.1:19000 (pid 42 running, not answering)\n',
    );
  });

  it('does not count a pid file naming somebody else’s process as our server', async () => {
    const dir = stateDir();
    // A live process without our marker on its command line.
    const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
    try {
      mkdirSync(join(dir, 'kafka'), { recursive: true });
      writeFileSync(join(dir, 'kafka/kafka.pid'), `${stranger.pid}\n`);
      const stack = new LocalStack({
        env: { METERKEEP_STACK_DIR: dir },
        clients: clients({ kafkaDescribeCluster: true }),
      });
      const kafka = (await stack.status()).find((component) => component.name === 'kafka');
      expect(kafka).toEqual({ name: 'kafka', up: false, address: '127.0.0.1:19092' });
    } finally {
      stranger.kill();
    }
  });

  it('prints the exports stack.sh env printed, once up has made the S3 credentials', () => {
    const dir = stateDir();
    const stack = new LocalStack({
      env: { METERKEEP_STACK_DIR: dir, KAFKA_PORT: '24092', S3_PORT: '24000' },
      clients: clients({}),
      self: 'deploy/local/stack.sh',
    });
    expect(() => stack.env()).toThrow(StackError);
    expect(() => stack.env()).toThrow(
      `no S3 credentials yet in ${dir}/s3proxy/credentials.env; run 'deploy/local/stack.sh up' first`,
    );

    mkdirSync(join(dir, 's3proxy'));
    writeFileSync(
      join(dir, 's3proxy/credentials.env'),
      'S3_ACCESS_KEY_ID=MKABC\nS3_SECRET_ACCESS_KEY=s3cr3t\n',
    );
    const { database } = stack.settings.postgres;
    const printed = formatEnvExports(stack.env());
    const credentials = join(dir, 'credentials');
    expect(printed).toBe(
      [
        `export KAFKA_SSL_CA_FILE=${credentials}/kafka-ca.pem`,
        `export METERKEEP_STACK_CREDENTIALS=${credentials}`,
        `export OTA_DIRECTIVE_KEY_FILE=${dir}/directive-keys/directive.key.pem`,
        `export OTA_DIRECTIVE_PUBLIC_KEYS_FILE=${dir}/directive-keys/directive.pub.pem`,
        'export KAFKA_BROKERS=127.0.0.1:24092',
        `export DATABASE_URL=postgres://meterkeep@127.0.0.1:5432/${database}`,
        `export REDIS_URL=redis://127.0.0.1:6379/${stack.settings.redis.db}`,
        'export S3_ENDPOINT=http://127.0.0.1:24000',
        'export S3_REGION=us-east-1',
        'export S3_ACCESS_KEY_ID=MKABC',
        'export S3_SECRET_ACCESS_KEY=s3cr3t',
        'export S3_FORCE_PATH_STYLE=true',
        '',
      ].join('\n'),
    );
    expect(stackEnvFrom(parseEnvExports(printed))).toEqual(stack.env());

    // A service's own users: Kafka SCRAM and the Redis ACL user named with the checkout's stackId.
    const bootstrap = stack.env('bootstrap');
    expect(bootstrap).toMatchObject({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'bootstrap',
      KAFKA_SASL_PASSWORD_FILE: `${credentials}/kafka-bootstrap.password`,
      REDIS_USERNAME: `mk-${stack.settings.stackId}-bootstrap`,
      REDIS_PASSWORD_FILE: `${credentials}/redis-bootstrap.password`,
    });
    expect(stack.env('enrollment')).not.toHaveProperty('REDIS_USERNAME');
    expect(stack.env('admin').KAFKA_SASL_USERNAME).toBe('meterkeep-admin');
    // Passwords stay in owner-only files, never in the exports.
    const password = readFileSync(bootstrap.KAFKA_SASL_PASSWORD_FILE!, 'utf8');
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(statSync(bootstrap.KAFKA_SASL_PASSWORD_FILE!).mode & 0o777).toBe(0o600);
    expect(statSync(credentials).mode & 0o777).toBe(0o700);
    expect(formatEnvExports(bootstrap)).not.toContain(password);
  });

  it('stops nothing and says so when nothing of ours runs', async () => {
    const dir = stateDir();
    const said: string[] = [];
    const stack = new LocalStack({
      env: { METERKEEP_STACK_DIR: dir },
      clients: clients({}),
      say: (line) => said.push(line),
    });
    await stack.down();
    expect(said).toEqual([
      's3proxy is not running',
      'kafka is not running',
      "PostgreSQL and Redis are the machine's own servers and were left running",
    ]);
  });

  it('stops at once, naming the cause, when PostgreSQL neither answers nor can be started', async () => {
    const dir = stateDir();
    const stack = new LocalStack({ env: { METERKEEP_STACK_DIR: dir, PATH: dir }, clients: clients({}) });
    await expect(stack.up()).rejects.toThrow(/PostgreSQL is not answering on 127.0.0.1:5432/);
  });
});

describe('the Kafka broker', () => {
  it('listens where the settings say, single-node KRaft, topics created explicitly', () => {
    const text = kafkaServerProperties({
      port: 24092,
      controllerPort: 24093,
      data: '/state/kafka/data',
      security: { admin: 'mk-admin', adminPassword: 'pw', keystoreFile: '/tls/ks.pem', caFile: '/c/ca.pem' },
    });
    const lines = text.split('\n');
    expect(lines).toContain('listeners=SASL_SSL://127.0.0.1:24092,CONTROLLER://127.0.0.1:24093');
    expect(lines).toContain('listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL');
    expect(lines).toContain('authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    expect(lines).toContain('allow.everyone.if.no.acl.found=false');
    expect(lines).toContain('sasl.enabled.mechanisms=SCRAM-SHA-512');
    expect(lines).toContain('ssl.keystore.type=PEM');
    expect(lines).toContain('super.users=User:mk-admin;User:ANONYMOUS');
    expect(lines).toContain('controller.quorum.voters=1@127.0.0.1:24093');
    expect(lines).toContain('log.dirs=/state/kafka/data');
    expect(lines).toContain('auto.create.topics.enable=false');
    expect(lines).toContain('group.initial.rebalance.delay.ms=0');
  });

  it('gets a cluster id in Kafka’s form: 16 bytes, base64url, not starting with a dash', () => {
    for (let i = 0; i < 200; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});

describe('parseEnvExports', () => {
  it('reads export lines and drops quotes', () => {
    expect(parseEnvExports("export A=1\nnoise\nexport B='two words'\n")).toEqual({ A: '1', B: 'two words' });
  });
});
