#!/usr/bin/env node
// Erasure saga latency, request → certificate (spec privacy.md §4.5: p95 < 5 s, and the same within
// 20 % for an occupancy of 1 day and one of 365 days). Starts the platform (privacy and the real
// telemetry-ingest, which confirms its part) on the local stack; per sample a new meter and subject
// whose occupancy holds `days` of history in telemetry.readings.v1 (one sealed record per day, as the
// ingest writes a day's batch: random bytes under the occupancy's key id, which is all the saga reads).
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const testing = require(join(root, 'dist/libs/testing/src/index.js'));
const { Kafka, Partitioners, logLevel } = require('kafkajs');
const { kafkaSecurity } = require(join(root, 'dist/libs/config/src/index.js'));

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '10' },
    days: { type: 'string', default: '1,365' },
  },
});
const samples = Number(values.samples);
const sizes = values.days.split(',').map(Number);
const quantile = (xs, q) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];

const up = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (up.status !== 0) process.exit(1);
const stack = testing.stackEnvFrom(testing.parseEnvExports(await testing.localStack('env')));
const work = mkdtempSync(join(tmpdir(), 'meterkeep-bench-erasure-'));
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyFile = join(work, 'certificate-key.pem');
writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
const kafka = new Kafka({
  brokers: stack.KAFKA_BROKERS.split(','),
  ...kafkaSecurity(testing.principalEnv('admin', stack)),
  clientId: 'bench-erasure',
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
await producer.connect();

const platform = await testing.startPlatform({
  logs: work,
  stack,
  env: { LOG_LEVEL: 'warn' },
  privacyEnv: {
    PRIVACY_CERTIFICATE_KEY_FILE: keyFile,
    PRIVACY_ERASURE_CONFIRMERS: 'privacy,telemetry-ingest',
    PRIVACY_ERASURE_RETRY_MS: '500',
  },
});
const results = {};
try {
  const tenantId = `bench-er-${randomBytes(3).toString('hex')}`;
  const adminKey = (
    await testing.runBuiltCli('enrollment', ['tenant', 'create', tenantId], platform.env)
  ).trim();
  const call = async (method, path, body) => {
    const response = await fetch(`${platform.privacy.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
    });
    const json = await response.json();
    if (response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  for (const days of sizes) {
    const durations = [];
    for (let i = 0; i < samples + 1; i++) {
      const meterId = `MTR-BENCH-${randomBytes(4).toString('hex').toUpperCase()}`;
      const subjectRef = `bench-${randomUUID()}`;
      const from = new Date(Date.now() - days * 86_400_000).toISOString();
      const occupancy = await call('POST', '/v1/occupancies', { meterId, subjectRef, from });
      const messages = Array.from({ length: days }, () => {
        const eventId = randomUUID();
        return {
          key: `${tenantId}/${meterId}`,
          value: JSON.stringify({
            eventId,
            tenantId,
            occurredAt: new Date().toISOString(),
            meterId,
            keyId: occupancy.keyId,
            algorithm: 'AES-256-GCM',
            iv: randomBytes(12).toString('base64'),
            ciphertext: randomBytes(48 * 60).toString('base64'),
            authTag: randomBytes(16).toString('base64'),
            readingCount: 48,
          }),
        };
      });
      for (let at = 0; at < messages.length; at += 100)
        await producer.send({
          topic: 'telemetry.readings.v1',
          acks: -1,
          messages: messages.slice(at, at + 100),
        });
      const started = performance.now();
      const erasure = await call('POST', `/v1/subjects/${subjectRef}/erasures`, {});
      for (;;) {
        const view = await call('GET', `/v1/subjects/${subjectRef}/erasures/${erasure.erasureId}`);
        if (view.state === 'CERTIFIED') break;
        if (view.state === 'FAILED') throw new Error(`erasure failed: ${view.lastError}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const elapsed = performance.now() - started;
      if (i > 0) durations.push(elapsed); // the first sample warms up
    }
    results[days] = {
      p50: quantile(durations, 0.5),
      p95: quantile(durations, 0.95),
      samples: durations.length,
    };
    console.log(
      `erasure ${days} day(s): p50 ${results[days].p50.toFixed(0)} ms, p95 ${results[days].p95.toFixed(0)} ms (${durations.length} samples)`,
    );
  }
  if (sizes.length === 2) {
    const [small, large] = sizes;
    console.log(
      `erasure: p95 ${results[large].p95.toFixed(0)} ms at ${large} days; ratio ${(results[large].p95 / results[small].p95).toFixed(2)} vs ${small} day(s)`,
    );
  }
} finally {
  await producer.disconnect();
  await platform.stop();
  rmSync(work, { recursive: true, force: true });
}
