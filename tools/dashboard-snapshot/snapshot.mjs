#!/usr/bin/env node
// A picture of deploy/observability/grafana-dashboard.json over a demo run, without Grafana: Prometheus
// scrapes the demo's services every 2 s, each panel's PromQL is then asked of Prometheus'
// /api/v1/query_range as Grafana would ask it (every service selected), and the answers are drawn as
// SVG line charts laid out by the panels' gridPos, screenshot by headless Chromium. Run by hand, not by
// npm test or CI. Needs `prometheus` and `chromium` on PATH (Debian: apt-get install prometheus chromium).
//
//   npm run dashboard:snapshot [-- --out docs/dashboard.png]
//       runs `npm run demo` (with the stack variables in the environment, DEMO_METERS too), keeps the
//       services up DEMO_LINGER_SECONDS (default here 30) after the lifecycle, then draws.
//   npm run dashboard:snapshot -- --data <dir>/panels.json [--out …]
//       draws again from the answers an earlier run kept, without a demo.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { allValues, expandVariables, flattenPanels, legendName, selectedMetrics } from './promql.mjs';
import { readPng, toPalettePng } from './png.mjs';
import { PAGE_COLORS, renderPage } from './render.mjs';
import { requireNode } from '../require-node.mjs';

requireNode('dashboard snapshot');

const root = resolve(import.meta.dirname, '../..');
const SCRAPE_SECONDS = 2;
const WIDTH = 1600;
const MAX_PNG_BYTES = 400 * 1024;

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'docs/dashboard.png') },
    data: { type: 'string' },
  },
});
const log = (line) => console.log(`dashboard-snapshot: ${line}`);
const die = (line) => {
  console.error(`dashboard-snapshot: ${line}`);
  process.exit(1);
};
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/observability/grafana-dashboard.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'dashboard-snapshot-'));

// ---------------------------------------------------------------------------------------------------

async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
}

/** Prometheus (own config, port and data dir under the work dir), the demo, then every panel's answers. */
async function recordDemo() {
  const port = Number(process.env.SNAPSHOT_PROMETHEUS_PORT ?? (await freePort()));
  const prometheusUrl = `http://127.0.0.1:${port}`;
  const targetsFile = join(work, 'targets.json');
  const writeTargets = (targets) => {
    // Written whole, then renamed: Prometheus watches the file and must never read half of it.
    writeFileSync(`${targetsFile}.tmp`, JSON.stringify(targets));
    renameSync(`${targetsFile}.tmp`, targetsFile);
  };
  writeTargets([]);
  // One scrape job; each target carries its service as `job`, as the service-monitor gives one job per service.
  writeFileSync(
    join(work, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${SCRAPE_SECONDS}s`,
      `  scrape_timeout: ${SCRAPE_SECONDS}s`,
      'scrape_configs:',
      '  - job_name: meterkeep',
      '    file_sd_configs:',
      `      - files: [${JSON.stringify(targetsFile)}]`,
      '',
    ].join('\n'),
  );
  const prometheus = spawn(
    process.env.PROMETHEUS_BIN ?? 'prometheus',
    [
      `--config.file=${join(work, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(work, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1d',
    ],
    { stdio: ['ignore', 'ignore', openSync(join(work, 'prometheus.log'), 'w')] },
  );
  prometheus.on('error', (error) =>
    die(`prometheus did not start (${error.message}); apt-get install prometheus`),
  );
  let demo;
  const stopAll = () => {
    if (demo && demo.exitCode === null) demo.kill('SIGINT');
    if (prometheus.exitCode === null) prometheus.kill('SIGTERM');
  };
  process.once('SIGINT', () => {
    stopAll();
    die('interrupted');
  });
  try {
    await waitFor('prometheus ready', async () => (await fetch(`${prometheusUrl}/-/ready`)).ok, 30_000);
    log(`prometheus ${prometheusUrl} (config, data and log in ${work})`);

    const targets = [];
    let start;
    demo = spawn(process.execPath, [join(root, 'tools/demo.mjs')], {
      env: { ...process.env, DEMO_LINGER_SECONDS: process.env.DEMO_LINGER_SECONDS ?? '30' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let pending = '';
    demo.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        // The demo's service table: name, url, ready, metrics URL, stores.
        const match = /^(\S+)\s+\S+\s+\S+\s+http:\/\/(127\.0\.0\.1:\d+)\/metrics\s/.exec(line);
        if (!match) continue;
        start ??= Date.now() - 5_000;
        targets.push({ targets: [match[2]], labels: { job: match[1] } });
        writeTargets(targets);
      }
    });
    const exit = await exited(demo);
    const end = Date.now();
    if (exit.code !== 0) throw new Error(`the demo failed (exit ${exit.code ?? exit.signal})`);
    if (targets.length === 0)
      throw new Error('the demo printed no metrics endpoint (ports 9464 and up taken?)');
    log(`scraped ${targets.map((t) => t.labels.job).join(', ')} for ${Math.round((end - start) / 1000)} s`);
    const answers = await queryPanels(prometheusUrl, start, end);
    writeFileSync(join(work, 'panels.json'), JSON.stringify(answers));
    log(`answers kept in ${join(work, 'panels.json')} (--data draws them again)`);
    return answers;
  } finally {
    stopAll();
    await exited(prometheus);
  }
}

async function prometheusApi(url, path, params) {
  const response = await fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(params) });
  const body = await response.json();
  if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
  return body.data;
}

/** Each panel's targets, as Grafana would send them with every service selected. */
async function queryPanels(url, startMs, endMs) {
  const rangeSeconds = (endMs - startMs) / 1000;
  // About one point per two pixels of a half-width panel, never finer than the scrape.
  const stepSeconds = Math.max(SCRAPE_SECONDS, Math.ceil(rangeSeconds / 350));
  const window = { start: startMs / 1000, end: endMs / 1000 };
  const variables = allValues(dashboard);
  const panels = [];
  let problems = 0;
  for (const panel of flattenPanels(dashboard.panels)) {
    const answer = {
      id: panel.id,
      type: panel.type,
      title: panel.title,
      gridPos: panel.gridPos,
      unit: panel.fieldConfig?.defaults?.unit ?? 'short',
      series: [],
      notes: [],
    };
    panels.push(answer);
    for (const target of panel.targets ?? []) {
      const query = expandVariables(target.expr, {
        variables,
        stepSeconds,
        scrapeSeconds: SCRAPE_SECONDS,
        rangeSeconds,
      });
      const { result } = await prometheusApi(url, '/api/v1/query_range', {
        query,
        ...window,
        step: stepSeconds,
      });
      for (const series of result)
        answer.series.push({
          name: legendName(target.legendFormat, series.metric),
          points: series.values.map(([t, v]) => [t * 1000, Number(v)]),
        });
      if (result.length > 0) continue;
      // Nothing: either nothing of the kind happened in the run, or the query misses a metric that did.
      for (const metric of selectedMetrics(target.expr)) {
        const seen = await prometheusApi(url, '/api/v1/series', { 'match[]': metric, ...window });
        if (seen.length === 0) answer.notes.push(`no ${metric} in this run`);
        else {
          problems++;
          answer.notes.push(`query matched nothing though ${metric} has ${seen.length} series`);
          console.error(`dashboard-snapshot: WARNING panel "${panel.title}": ${query} matched nothing`);
        }
      }
    }
    if (panel.type !== 'row')
      log(
        `${panel.title}: ${answer.series.length} series${answer.notes.length ? ` (${answer.notes.join('; ')})` : ''}`,
      );
  }
  if (problems)
    console.error(`dashboard-snapshot: ${problems} quer(ies) matched nothing although their metric had data`);
  return { startMs, endMs, stepSeconds, panels, meters: process.env.DEMO_METERS ?? '1000' };
}

function screenshot({ startMs, endMs, stepSeconds, panels, meters }) {
  const minutes = Math.round((endMs - startMs) / 60_000);
  const subtitle =
    `npm run demo (${meters} meters), ${new Date(startMs).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${minutes} min. ` +
    'Drawn by tools/dashboard-snapshot from the dashboard JSON\u2019s queries against Prometheus (2 s scrapes), not a Grafana screenshot.';
  const html = renderPage({
    dashboard,
    panels,
    start: startMs,
    end: endMs,
    stepMs: stepSeconds * 1000,
    width: WIDTH,
    subtitle,
  });
  const page = join(work, 'dashboard.html');
  writeFileSync(page, html);
  const height = Number(/\.page \{[^}]*height: (\d+)px/.exec(html)[1]);
  const out = resolve(args.out);
  const shot = join(work, 'screenshot.png');
  const chromium = spawnSync(
    process.env.CHROMIUM_BIN ?? 'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      '--force-device-scale-factor=1',
      `--user-data-dir=${join(work, 'chromium')}`,
      `--window-size=${WIDTH},${height}`,
      `--screenshot=${shot}`,
      `file://${page}`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (chromium.error) die(`chromium did not run (${chromium.error.message}); apt-get install chromium`);
  if (chromium.status !== 0) die(`chromium failed (exit ${chromium.status}): ${chromium.stderr}`);
  writeFileSync(out, toPalettePng(readPng(readFileSync(shot)), PAGE_COLORS));
  rmSync(join(work, 'chromium'), { recursive: true, force: true });
  const { size } = statSync(out);
  log(`${out}: ${WIDTH}x${height}, ${Math.round(size / 1024)} KB (page: ${page})`);
  if (size > MAX_PNG_BYTES) die(`the picture is over ${MAX_PNG_BYTES / 1024} KB`);
}

try {
  screenshot(args.data ? JSON.parse(readFileSync(args.data, 'utf8')) : await recordDemo());
} catch (error) {
  die(error.message);
}
