#!/usr/bin/env node
// Campaigns on the OTA distributor as built (dist/), on the local stack, each figure beside a bare
// baseline in the same run (spec ota.md §6.9 B1, B2, B5, B6; issue #13):
//  a) planning: --meters registry devices (written straight into the distributor's device projection
//     with generate_series), a campaign created, approved and started; the start answers once targets,
//     strata, phases and one QUEUED execution per member are committed. The distributor's RSS is
//     sampled every 100 ms. Baseline: the bare SQL that selects the same targets, read by this process.
//  b) phase-1 eligibility: from the start request until 10,000 phase-1 executions are admitted (their
//     directives go out at the next check-in). Baseline: the bare UPDATE that marks the same 10,000
//     (in a transaction rolled back).
//  c) halt latency: per crossing, a campaign over one real meter with a rule that one failure halts;
//     from sending the meter's FAILED status (mutual TLS, its own certificate) until the `halted` event
//     is read from ota.campaigns.v2. Baseline: a bare kafkajs produce → consume of one record.
//  d) status ingestion: every meter of the fleet reports its execution's states in order over its own
//     keep-alive mutual-TLS connection; statuses/s until the last ota.device-status.v2 event is read, the
//     answer latency (the counters move in the status's own transaction, so a status's counter lag is
//     its answer's) and the status → Kafka lag. Baseline: a bare kafkajs producer writing as many
//     records of the same shape, one send per record, as many in flight as there are meters.
//
//   node_modules/.bin/node test/bench/ota-campaign/ota-campaign.bench.mjs [--meters 1000000]
//     [--runs 3] [--fleet 200] [--crossings 10] [--phase1 10000] [--status-runs 1] [--status-abort off|on|both]
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { cpuBudget } from '../cpu-budget.mjs';

const root = join(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const dist = (path) => require(join(root, 'dist', path));
const testing = dist('libs/testing/src/index.js');
const firmware = dist('libs/firmware/src/index.js');
const { kafkaSecurity } = dist('libs/config/src/index.js');
const { OTA_CAMPAIGNS_V2, OTA_DEVICE_STATUS_V2 } = dist('libs/contracts/src/index.js');
const { createKafkaClient } = dist('libs/kafka/src/index.js');
const { createLogger } = dist('libs/observability/src/index.js');
const { Client } = require('pg');

const { values } = parseArgs({
  options: {
    meters: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    fleet: { type: 'string', default: '200' },
    crossings: { type: 'string', default: '10' },
    phase1: { type: 'string', default: '10000' },
    // d) repeated this many times (a fresh campaign over the same fleet each time): medians of d).
    'status-runs': { type: 'string', default: '1' },
    // d)'s campaign with an abort rule that never crosses: its outcomes are judged under the
    // campaign's lock, as a campaign with abort rules has them (without any, no status can halt it).
    // `--status-abort both`: --status-runs without the rule, then as many with it.
    'status-abort': { type: 'string', default: 'off' },
    // Leaves out the set-based floor of a) (as long again as the planning at full size).
    'skip-floor': { type: 'boolean', default: false },
  },
});
const meters = Number(values.meters);
const runs = Number(values.runs);
const fleetSize = Number(values.fleet);
const crossings = Math.min(Number(values.crossings), fleetSize);
const phase1 = Math.min(Number(values.phase1), meters);
const statusRuns = Math.max(1, Number(values['status-runs']));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
};
const ms = (x) => Math.round(x).toLocaleString('en');
const tag = randomBytes(3).toString('hex');
const sleep = (t) => new Promise((resolve) => setTimeout(resolve, t));

const up = spawnSync('bash', [join(root, 'deploy/local/stack.sh'), 'up'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (up.status !== 0) process.exit(1);
const stack = testing.stackEnvFrom(testing.parseEnvExports(await testing.localStack('env')));
const work = mkdtempSync(join(tmpdir(), 'meterkeep-bench-campaign-'));
const logger = createLogger({ service: 'bench-ota-campaign', level: 'error' });
const kafka = createKafkaClient({
  clientId: `bench-ota-campaign-${tag}`,
  brokers: stack.KAFKA_BROKERS.split(','),
  ...kafkaSecurity(testing.principalEnv('admin', stack)),
  logger,
});

/** A consumer from the topic's end that notes when each record arrived (performance.now()). */
async function tap(topic) {
  const groupId = `bench-ota-campaign-${tag}-${randomBytes(3).toString('hex')}`;
  await testing.startGroupAtEnd(kafka, groupId, topic);
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 20,
  });
  const waiters = [];
  const records = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const record = { at: performance.now(), json: JSON.parse(message.value.toString()) };
      records.push(record);
      for (const w of [...waiters]) if (w.test(record)) w.resolve(record);
    },
  });
  return {
    records,
    /** Resolves with the first record (seen before or after the call) the predicate accepts. */
    next(test) {
      const seen = records.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const w = { test, resolve: (r) => (waiters.splice(waiters.indexOf(w), 1), resolve(r)) };
        waiters.push(w);
      });
    },
    close: () => consumer.disconnect(),
  };
}

/** One HTTPS request on a meter's own keep-alive mutual-TLS agent. */
function call(agent, url, method, path, body) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: target.hostname,
        port: target.port,
        path,
        method,
        agent,
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** The distributor's resident set now (kB), from /proc. */
function rssKb(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * What the distributor's PostgreSQL sessions are doing, sampled every 100 ms until stopped: active
 * sessions per sample by wait event (CPU: running, not waiting), and the statements seen waiting most.
 */
function waitSampler() {
  const sampler = new Client({ connectionString: stack.DATABASE_URL, application_name: 'bench-waits' });
  const waits = new Map();
  const statements = new Map();
  let samples = 0;
  let on = true;
  const loop = (async () => {
    await sampler.connect();
    while (on) {
      const { rows } = await sampler.query(
        `select coalesce(wait_event_type || ':' || wait_event, 'CPU') as w,
                left(regexp_replace(query, '\\s+', ' ', 'g'), 70) as q
         from pg_stat_activity where datname = current_database() and state = 'active'
           and pid <> pg_backend_pid() and application_name not like 'bench%'`,
      );
      samples++;
      for (const r of rows) {
        waits.set(r.w, (waits.get(r.w) ?? 0) + 1);
        if (r.w !== 'CPU') statements.set(r.q, (statements.get(r.q) ?? 0) + 1);
      }
      await sleep(100);
    }
    await sampler.end();
  })();
  return async () => {
    on = false;
    await loop;
    const top = (m, n) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, v]) => `${k} ${(v / samples).toFixed(2)}`)
        .join('; ');
    return `PostgreSQL sessions per sample by wait (${samples} samples): ${top(waits, 6)}\n     waiting most: ${top(statements, 3)}`;
  };
}

const platform = await testing.startPlatform({
  logs: work,
  stack,
  env: { LOG_LEVEL: 'warn' },
  ota: true,
  otaEnv: {
    OTA_CAMPAIGN_TICK_MS: '250',
    // METERKEEP_BENCH_PROFILE=<dir>: a CPU profile of the distributor, written there when it stops.
    ...(process.env.METERKEEP_BENCH_PROFILE && {
      NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.METERKEEP_BENCH_PROFILE}`,
    }),
  },
});
const pg = new Client({ connectionString: stack.DATABASE_URL, application_name: 'bench-ota-campaign' });
await pg.connect();
await pg.query('set search_path to ota');
const otaPid = platform.ota.child.pid;
const results = { floor: [], plan: [], planSql: [], eligible: [], eligibleSql: [], rssBase: [], rssPeak: [] };

try {
  console.log(`minting, enrolling and bootstrapping ${fleetSize} meters (the device-API fleet) ...`);
  const fleet = await testing.activeFleet(platform, {
    tenantId: `bench-${tag}`,
    count: fleetSize,
    prefix: `BC${tag.toUpperCase()}`,
    concurrency: 16,
    model: 'em300',
  });
  const admin = testing.operatorApi(platform.ota.url, fleet.apiKey);
  const operatorKey = (await fleet.api('POST', '/v1/api-keys', { role: 'operator' })).body.apiKey;
  const operator = testing.operatorApi(platform.ota.url, operatorKey);
  const must = async (api, method, path, body, contentType) => {
    const answer = await api(method, path, body, contentType);
    if (answer.status >= 300)
      throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const authority = createPrivateKey(readFileSync(fleet.batch.updateAuthorityKeyFile));
  await must(admin, 'POST', '/v1/firmware/update-authorities', {
    publicKeyPem: readFileSync(join(fleet.batch.dir, 'update.pub.pem'), 'utf8'),
  });

  /** A class, an image and a signed manifest accepted for it: what a campaign rolls out. */
  async function release(classId, sequenceNumber) {
    await must(admin, 'PUT', `/v1/firmware/classes/${classId}`, { vendorId: 'test' });
    const image = randomBytes(64 * 1024);
    const sha256 = createHash('sha256').update(image).digest('hex');
    const declared = await must(operator, 'POST', '/v1/firmware/images', {
      classId,
      component: 'app',
      size: image.length,
      sha256,
    });
    const put = await fetch(declared.upload.parts[0].url, { method: 'PUT', body: image });
    await must(operator, 'POST', `/v1/firmware/images/${declared.image.imageId}/complete`, {
      parts: [{ partNumber: 1, etag: put.headers.get('etag') }],
    });
    const now = Date.now();
    const signed = firmware.signManifest(
      {
        manifestVersion: 1,
        sequenceNumber,
        vendorId: 'test',
        classId,
        components: [
          {
            id: ['app'],
            version: `2.${sequenceNumber}.0`,
            format: 'raw',
            digest: { alg: 'sha-256', value: sha256 },
            size: image.length,
          },
        ],
        issuedAt: new Date(now - 60_000).toISOString(),
        expiresAt: new Date(now + 30 * 86_400_000).toISOString(),
        description: 'bench',
      },
      [{ privateKey: authority }],
    );
    const accepted = await must(
      operator,
      'POST',
      '/v1/firmware/manifests',
      Buffer.from(signed.envelopeBytes).toString('utf8'),
      'application/json; charset=utf-8',
    );
    return accepted.manifestId;
  }

  /** Created by the operator, submitted, approved by the admin (a second person): APPROVED. */
  async function approvedCampaign(body) {
    const created = await must(operator, 'POST', '/v1/campaigns', body);
    await must(operator, 'POST', `/v1/campaigns/${created.campaignId}/submit`);
    await must(admin, 'POST', `/v1/campaigns/${created.campaignId}/approve`);
    return created.campaignId;
  }
  const fastRollout = { maxPerMinute: 100_000, perGatewayConcurrency: 100_000 };

  // ---- a) and b): planning and phase-1 eligibility over --meters registry devices, per run ----
  for (let run = 1; run <= runs; run++) {
    const classId = `bb${tag}-r${run}`;
    const manifestId = await release(classId, run);
    const t0 = performance.now();
    // The registry as the projection holds it: ACTIVE meters of the class behind 1,000 gateways.
    await pg.query(
      `insert into devices (tenant_id, device_id, class_id, state, state_at, gateway_id)
       select $1, $2 || lpad(i::text, 8, '0'), $3, 'ACTIVE', now(), 'GW-' || (i % 1000)
       from generate_series(1, $4::int) i`,
      [fleet.tenantId, `M${tag}${run}-`, classId, meters],
    );
    await pg.query('analyze devices');
    console.log(
      `run ${run}: ${meters.toLocaleString('en')} registry devices of ${classId} inserted in ${ms(performance.now() - t0)} ms`,
    );

    // Baseline: the targets' SQL as the distributor's target query reads them, rows into this process.
    const b0 = performance.now();
    const bare = await pg.query(
      `select d.device_id, d.gateway_id from devices d
       where d.tenant_id = $1 and d.class_id = $2 and d.state = 'ACTIVE'
         and not exists (select 1 from executions e where e.tenant_id = d.tenant_id and e.device_id = d.device_id
           and e.state in ('QUEUED','NOTIFIED','DOWNLOADING','DOWNLOADED','VERIFIED','INSTALLING','REBOOTING','CONFIRMING'))
       order by d.device_id`,
      [fleet.tenantId, classId],
    );
    const planSql = performance.now() - b0;

    const planBody = {
      name: `bench plan ${run}`,
      manifestId,
      target: { query: {} },
      phases: [
        { name: 'first', size: { count: phase1 }, successThresholdPercent: 95, minSoakMinutes: 0 },
        { name: 'rest', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 },
      ],
      rollout: fastRollout,
      abort: [],
    };
    const campaignId = await approvedCampaign(planBody);
    // A DRAFT twin whose phases the set-based floor below plans into (rolled back).
    const twinId = (await must(operator, 'POST', '/v1/campaigns', { ...planBody, name: `bench twin ${run}` }))
      .campaignId;
    const rssBase = rssKb(otaPid);
    let rssPeak = rssBase;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssKb(otaPid))), 100);
    let eligibleAt;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { rows } = await pg.query(
          `select count(*)::int as n from executions where campaign_id = $1 and phase = 1 and admitted_at is not null`,
          [campaignId],
        );
        if (rows[0].n >= phase1) {
          eligibleAt = performance.now();
          return;
        }
        await sleep(100);
      }
    })();
    const stopWaits = waitSampler();
    const budget = cpuBudget({ [otaPid]: 'ota-distributor (this bench)' });
    const s0 = performance.now();
    // A plan longer than the start's wait (OTA_START_WAIT_MS) is answered 202 (APPROVED, planning):
    // then the plan counts as persisted when the campaign is seen RUNNING.
    const started = await operator('POST', `/v1/campaigns/${campaignId}/start`);
    if (started.status !== 200 && started.status !== 202)
      throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
    const answered = performance.now() - s0;
    if (started.status === 202) {
      console.log(`  start answered 202 ${started.body.state} after ${ms(answered)} ms; waiting for RUNNING`);
      for (let i = 0; i < 12_000; i++) {
        const { rows } = await pg.query(`select state from campaigns where campaign_id = $1`, [campaignId]);
        if (rows[0].state === 'RUNNING') break;
        await sleep(100);
      }
    }
    const plan = performance.now() - s0;
    budget.stop(meters, 'planned device');
    const deadline = Date.now() + 600_000;
    while (eligibleAt === undefined && Date.now() < deadline) await sleep(50);
    polling = false;
    await poller;
    clearInterval(sampler);
    const planWaits = await stopWaits();
    rssPeak = Math.max(rssPeak, rssKb(otaPid));
    const { rows: persisted } = await pg.query(
      `select (select count(*)::int from campaign_members where campaign_id = $1) as members,
              (select count(*)::int from executions where campaign_id = $1) as executions,
              (select string_agg(targets::text, '/' order by phase) from campaign_phases where campaign_id = $1) as phases`,
      [campaignId],
    );

    // Baseline of b): the bare UPDATE that lets as many queued executions out, in admission order.
    await pg.query('begin');
    const u0 = performance.now();
    await pg.query(
      `update executions set admitted_at = now() where execution_id in (
         select m.execution_id from campaign_members m where m.campaign_id = $1 and m.phase = 2
         order by m.admission_order limit $2)`,
      [campaignId, phase1],
    );
    const eligibleSql = performance.now() - u0;
    await pg.query('rollback');

    // The floor of persisting the same plan: one set-based statement (hash order within gateway,
    // systematic interleave across gateways, as the domain's stratified order) writing the executions
    // and members, with the schema's indexes, foreign keys and triggers; rolled back. Its executions
    // are CANCELLED only to pass the one-active-execution index the started campaign's rows hold.
    const f0 = performance.now();
    if (!values['skip-floor']) {
      await pg.query('begin');
      await pg.query(
        `insert into deployments (deployment_id, tenant_id, manifest_id, manifest_digest, class_id, sequence_number,
         action_type, created_by, created_at)
       select campaign_id, tenant_id, manifest_id, manifest_digest, class_id, sequence_number, 'soft', created_by, now()
       from campaigns where campaign_id = $1`,
        [twinId],
      );
      await pg.query(`select set_config('ota.bulk_counts', 'on', true)`);
      await pg.query(
        `with hashed as (
         select d.device_id, d.gateway_id, sha256(convert_to($1 || '|' || d.device_id, 'UTF8')) as h
         from devices d where d.tenant_id = $2 and d.class_id = $3 and d.state = 'ACTIVE'),
       ranked as (
         select device_id, gateway_id, h,
           (row_number() over (partition by gateway_id order by h) - 0.5) / count(*) over (partition by gateway_id) as k
         from hashed),
       ordered as (select device_id, gateway_id, row_number() over (order by k, h) - 1 as ord from ranked),
       inserted as (
         insert into executions (execution_id, tenant_id, deployment_id, device_id, state, campaign_id, phase, created_at, updated_at)
         select gen_random_uuid()::text, $2, $1::uuid, device_id, 'CANCELLED', $1::uuid,
                case when ord < $4 then 1 else 2 end, now(), now() from ordered
         returning execution_id, device_id, phase)
       insert into campaign_members (campaign_id, device_id, phase, admission_order, gateway_id, execution_id)
       select $1::uuid, i.device_id, i.phase, o.ord, o.gateway_id, i.execution_id from inserted i join ordered o using (device_id)`,
        [twinId, fleet.tenantId, classId, phase1],
      );
      await pg.query('rollback');
    }
    const floor = values['skip-floor'] ? NaN : performance.now() - f0;

    const eligible = eligibleAt === undefined ? Infinity : eligibleAt - s0;
    console.log(
      `  a) planned ${persisted[0].members.toLocaleString('en')} members / ${persisted[0].executions.toLocaleString('en')} executions (phases ${persisted[0].phases}) ` +
        `in ${ms(plan)} ms; bare target SQL ${ms(planSql)} ms (${bare.rowCount.toLocaleString('en')} rows); ` +
        `the same plan persisted by one set-based statement ${Number.isNaN(floor) ? 'skipped' : `${ms(floor)} ms`}; ` +
        `the start answered ${started.status} after ${ms(answered)} ms; ` +
        `distributor RSS ${ms(rssBase / 1024)} MB before, peak ${ms(rssPeak / 1024)} MB`,
    );
    console.log(`     ${planWaits}`);
    console.log(
      `  b) ${phase1.toLocaleString('en')} phase-1 executions admitted ${ms(eligible)} ms after the start request; bare UPDATE ${ms(eligibleSql)} ms`,
    );
    results.plan.push(plan);
    results.planSql.push(planSql);
    results.floor.push(floor);
    results.eligible.push(eligible);
    results.eligibleSql.push(eligibleSql);
    results.rssBase.push(rssBase);
    results.rssPeak.push(rssPeak);
    // Later runs' campaigns must not queue behind this one's admissions: it stops admitting.
    await must(operator, 'POST', `/v1/campaigns/${campaignId}/pause`);
  }

  // ---- the fleet's meters on the device API (their own certificates, keep-alive mutual TLS) ----
  const stateDirs = readdirSync(fleet.batch.statesDir).sort();
  const agents = stateDirs.map((name) => {
    const op = JSON.parse(readFileSync(join(fleet.batch.statesDir, name, 'operational.json'), 'utf8'));
    return new HttpsAgent({
      keepAlive: true,
      maxSockets: 1,
      cert: [op.certificatePem, ...op.chainPem].join(''),
      key: op.privateKeyPem,
      ca: platform.serverCaPem,
    });
  });
  const deviceIds = fleet.batch.endpointNames;
  const fleetManifest = await release('em300', 1);
  /** Each meter's check-in: the execution id of its directive. */
  // A refused check-in (on a loaded machine: 500 once the pool's connection wait passes 5 s) is sent
  // again, as a meter would.
  const checkIn = async (agent) => {
    for (let tries = 1; ; tries++) {
      const answer = await call(
        agent,
        platform.otaUri,
        'GET',
        '/ota/v1/check-in?installed=none&seq=0&slot=A',
      );
      if (answer.status === 200 || tries === 5) return answer.body?.directive?.directive?.executionId;
      await sleep(200 * tries);
    }
  };
  const waitAdmitted = async (campaignId, n) => {
    for (let i = 0; i < 600; i++) {
      const { rows } = await pg.query(
        `select count(*)::int as n from executions where campaign_id = $1 and admitted_at is not null`,
        [campaignId],
      );
      if (rows[0].n >= n) return;
      await sleep(50);
    }
    throw new Error(`campaign ${campaignId}: fewer than ${n} admitted`);
  };

  // ---- c) halt latency ----
  const campaignsTap = await tap(OTA_CAMPAIGNS_V2.name);
  const haltLatencies = [];
  for (let i = 0; i < crossings; i++) {
    const campaignId = await approvedCampaign({
      name: `bench halt ${i}`,
      manifestId: fleetManifest,
      target: { deviceIds: [deviceIds[i]] },
      phases: [{ name: 'all', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 }],
      rollout: fastRollout,
      abort: [{ scope: 'phase', failureTypes: ['FAILED'], thresholdCount: 1, minExecuted: 1 }],
      retry: { max: 0, backoffMinutes: 1, codes: ['DOWNLOAD_*'] },
    });
    await must(operator, 'POST', `/v1/campaigns/${campaignId}/start`);
    await waitAdmitted(campaignId, 1);
    const executionId = await checkIn(agents[i]);
    if (!executionId) throw new Error(`meter ${deviceIds[i]} got no directive`);
    const halted = campaignsTap.next((r) => r.json.campaignId === campaignId && r.json.type === 'halted');
    const h0 = performance.now();
    const answer = await call(
      agents[i],
      platform.otaUri,
      'POST',
      `/ota/v1/executions/${executionId}/status`,
      {
        state: 'FAILED',
        attempt: 1,
        seq: 1,
        failureCode: 'BOOT_VERIFY_FAILED',
      },
    );
    if (answer.status !== 200)
      throw new Error(`FAILED status: ${answer.status} ${JSON.stringify(answer.body)}`);
    const event = await Promise.race([halted, sleep(30_000).then(() => undefined)]);
    if (!event) throw new Error(`no halted event for ${campaignId}`);
    haltLatencies.push(event.at - h0);
  }
  await campaignsTap.close();
  // Baseline of c): one record produced (acks all) and consumed by a group at the end, per crossing.
  const bareTopic = `bench.ota-campaign-${tag}.v1`;
  const kadmin = kafka.admin();
  await kadmin.connect();
  await kadmin.createTopics({ topics: [{ topic: bareTopic, numPartitions: 6 }], waitForLeaders: true });
  const bareTap = await tap(bareTopic);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const bareHalt = [];
  for (let i = 0; i < crossings; i++) {
    const id = randomUUID();
    const seen = bareTap.next((r) => r.json.eventId === id);
    const p0 = performance.now();
    await producer.send({
      topic: bareTopic,
      acks: -1,
      messages: [{ key: id, value: JSON.stringify({ eventId: id, type: 'halted' }) }],
    });
    bareHalt.push((await seen).at - p0);
  }
  console.log(
    `c) halt: crossing status sent → halted event read: p50 ${ms(pct(haltLatencies, 50))} ms, p99 ${ms(pct(haltLatencies, 99))} ms ` +
      `(${haltLatencies.map(ms).join(', ')}); bare produce → consume p50 ${ms(pct(bareHalt, 50))} ms, p99 ${ms(pct(bareHalt, 99))} ms`,
  );

  // ---- d) status ingestion: every fleet meter through its execution's states, in order ----
  const STATES = ['DOWNLOADING', 'DOWNLOADED', 'VERIFIED', 'INSTALLING', 'REBOOTING', 'CONFIRMING', 'FAILED'];
  const statusRates = [];
  const bareRates = [];
  const answerP99s = [];
  const judged = { off: [false], on: [true], both: [false, true] }[values['status-abort']];
  if (!judged) throw new Error('--status-abort: off, on or both');
  const medianLines = [];
  const firstRates = [];
  const firstBare = [];
  for (const withRule of judged) {
    statusRates.length = 0;
    bareRates.length = 0;
    answerP99s.length = 0;
    for (let statusRun = 1; statusRun <= statusRuns; statusRun++) {
      console.log(`d) run ${statusRun} of ${statusRuns}, ${withRule ? 'with' : 'without'} an abort rule`);
      const statusTap = await tap(OTA_DEVICE_STATUS_V2.name);
      const campaignId = await approvedCampaign({
        name: `bench statuses ${statusRun}`,
        manifestId: fleetManifest,
        target: { deviceIds },
        phases: [{ name: 'all', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 0 }],
        rollout: fastRollout,
        abort: withRule
          ? [{ scope: 'campaign', failureTypes: ['FAILED'], thresholdCount: 1_000_000_000, minExecuted: 0 }]
          : [],
        retry: { max: 0, backoffMinutes: 1, codes: ['DOWNLOAD_*'] },
      });
      await must(operator, 'POST', `/v1/campaigns/${campaignId}/start`);
      await waitAdmitted(campaignId, deviceIds.length);
      const executions = await Promise.all(agents.map(checkIn));
      if (executions.some((e) => !e)) {
        const missing = executions.flatMap((e, i) => (e ? [] : [i]));
        const again = await call(
          agents[missing[0]],
          platform.otaUri,
          'GET',
          '/ota/v1/check-in?installed=none&seq=0&slot=A',
        );
        throw new Error(
          `meters ${missing.join(', ')} got no directive; again: ${again.status} ${JSON.stringify(again.body).slice(0, 300)}`,
        );
      }
      const sentAt = new Map();
      const answerLatencies = [];
      const refusals = new Map();
      const stopWaits = waitSampler();
      const statusBudget = cpuBudget({ [otaPid]: 'ota-distributor (this bench)' });
      const d0 = performance.now();
      await Promise.all(
        agents.map(async (agent, i) => {
          for (const [seq, state] of STATES.entries()) {
            const key = `${executions[i]}:${state}`;
            const t = performance.now();
            sentAt.set(key, t);
            // A refused report is sent again, as a meter would (the same attempt and seq: idempotent).
            for (let tries = 1; ; tries++) {
              const answer = await call(
                agent,
                platform.otaUri,
                'POST',
                `/ota/v1/executions/${executions[i]}/status`,
                {
                  state,
                  attempt: 1,
                  seq: seq + 1,
                  ...(state === 'FAILED' && { failureCode: 'HEALTH_CHECK_FAILED' }),
                },
              );
              if (answer.status === 200) break;
              const code = `${answer.status} ${answer.body?.code ?? ''}`.trim();
              refusals.set(code, (refusals.get(code) ?? 0) + 1);
              if (tries === 5)
                throw new Error(`status ${state}: ${answer.status} ${JSON.stringify(answer.body)}`);
              await sleep(200 * tries);
            }
            answerLatencies.push(performance.now() - t);
          }
        }),
      );
      const answered = performance.now() - d0;
      const statusWaits = await stopWaits();
      statusBudget.stop(agents.length * 7, 'status');
      const total = agents.length * STATES.length;
      const mine = (r) => r.json.campaignId === campaignId && STATES.includes(r.json.state);
      for (let i = 0; i < 600 && statusTap.records.filter(mine).length < total; i++) await sleep(50);
      const onKafka = statusTap.records.filter(mine);
      const lastSeen = Math.max(...onKafka.map((r) => r.at));
      const kafkaLag = onKafka
        .map((r) => r.at - sentAt.get(`${r.json.executionId}:${r.json.state}`))
        .filter((x) => x >= 0);
      await statusTap.close();
      const { rows: counters } = await pg.query(
        `select state, sum(count)::int as n from campaign_phase_counts where campaign_id = $1 group by state order by state`,
        [campaignId],
      );
      const statusRate = onKafka.length / ((lastSeen - d0) / 1000);
      // Baseline of d): the same number of status-shaped records, one send each, as many in flight as meters.
      // As the ingest bench's baseline: one request per as many records as there are meters in flight.
      const record = JSON.stringify(onKafka[0]?.json ?? {});
      const bulk = kafka.producer({ idempotent: true });
      await bulk.connect();
      const q0 = performance.now();
      for (let sent = 0; sent < total; sent += agents.length)
        await bulk.send({
          topic: bareTopic,
          acks: -1,
          messages: Array.from({ length: Math.min(agents.length, total - sent) }, () => ({
            key: randomUUID(),
            value: record,
          })),
        });
      const bareRate = total / ((performance.now() - q0) / 1000);
      await bulk.disconnect();
      console.log(
        `d) statuses: ${total} POSTed by ${agents.length} meters (7 each) in ${ms(answered)} ms, ${onKafka.length} on ota.device-status.v2 after ` +
          `${ms(lastSeen - d0)} ms: ${ms(statusRate)} statuses/s; answer (= counter lag) p50 ${ms(pct(answerLatencies, 50))} ms, ` +
          `p99 ${ms(pct(answerLatencies, 99))} ms; status → Kafka p99 ${ms(pct(kafkaLag, 99))} ms; counters ${counters.map((c) => `${c.state} ${c.n}`).join(', ')}; ` +
          `bare kafkajs producer ${ms(bareRate)} records/s`,
      );
      console.log(
        `   answers other than 200 (each sent again): ${JSON.stringify(Object.fromEntries(refusals))}`,
      );
      console.log(`   ${statusWaits}`);
      statusRates.push(statusRate);
      bareRates.push(bareRate);
      answerP99s.push(pct(answerLatencies, 99));
    }
    medianLines.push(
      `d) medians over ${statusRuns} status runs ${withRule ? 'with' : 'without'} an abort rule: ${ms(median(statusRates))} statuses/s (${statusRates.map(ms).join(', ')}); ` +
        `answer p99 ${ms(median(answerP99s))} ms (${answerP99s.map(ms).join(', ')}); bare producer ${ms(median(bareRates))} records/s`,
    );
    firstRates.push(...statusRates);
    firstBare.push(...bareRates);
  }
  for (const line of medianLines) console.log(line);
  // The summary line: the first variant's medians.
  const statusRate = median(firstRates.slice(0, statusRuns));
  const bareRate = median(firstBare.slice(0, statusRuns));
  await producer.disconnect();
  await bareTap.close();
  await kadmin.deleteTopics({ topics: [bareTopic] }).catch(() => undefined);
  await kadmin.disconnect();
  for (const agent of agents) agent.destroy();

  if (runs > 0) summariseRuns();
  console.log(
    `ota-campaign-halt: ${ms(pct(haltLatencies, 99))} ms p99; ratio ${(pct(haltLatencies, 99) / pct(bareHalt, 99)).toFixed(1)} vs bare produce+consume`,
  );
  console.log(
    `ota-campaign-status: ${ms(statusRate)} statuses/s; ratio ${(statusRate / bareRate).toFixed(2)} vs bare kafkajs producer`,
  );
} finally {
  await pg.end();
  await platform.stop();
}

function summariseRuns() {
  const plan = median(results.plan);
  const planSql = median(results.planSql);
  const eligible = median(results.eligible);
  const eligibleSql = median(results.eligibleSql);
  console.log(
    `medians over ${runs} runs of ${meters.toLocaleString('en')} devices: planned in ${ms(plan)} ms (bare target SQL ${ms(planSql)} ms, ` +
      `set-based plan ${ms(median(results.floor))} ms), ` +
      `RSS ${ms(median(results.rssBase) / 1024)} → peak ${ms(median(results.rssPeak) / 1024)} MB; ` +
      `${phase1.toLocaleString('en')} eligible after ${ms(eligible)} ms (bare UPDATE ${ms(eligibleSql)} ms)`,
  );
  console.log(`ota-campaign-plan: ${ms(plan)} ms; ratio ${(plan / planSql).toFixed(1)} vs bare target SQL`);
  console.log(
    `ota-campaign-eligible: ${ms(eligible)} ms; ratio ${(eligible / eligibleSql).toFixed(1)} vs bare UPDATE`,
  );
}
