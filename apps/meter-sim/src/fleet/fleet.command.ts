import { parseArgs } from 'node:util';
import { type UpdateFaults, parseUpdateFaults } from '../update/update-faults';
import { loadFleet, percentile, runFleet } from './fleet';
import { DEFAULT_UNTIL_IDLE_ROUNDS, type FleetUpdateOptions, meterLine, updateFleet } from './fleet-update';
import {
  DEFAULT_BATCH_SIZE,
  type FleetReportOptions,
  type FleetReportProgress,
  checkReportOptions,
  reportFleet,
} from './fleet-report';

export const FLEET_USAGE = `Usage: meter-sim fleet bootstrap|renew --state DIR [options]
       meter-sim fleet report --state DIR --days N [options]
       meter-sim fleet update --state DIR (--until-idle | --max-rounds N) [options]

Brings provisioned meters online as real ones do: each makes a new operational key, sends a CSR over
a new mutually authenticated TLS connection (factory certificate, or PSK proof over a server nonce),
keeps the certificate and configuration it gets, and retries when told to (503, 429) with backoff.
'renew' renews ACTIVE meters with their current operational certificate instead.

'report' has each bootstrapped meter send N days of half-hourly interval data (active energy import,
a daily register snapshot, now and then an outage, tamper or reverse-flow event) to the telemetry
ingest: batches over one kept-open mutual-TLS connection with its operational certificate, sent again
with the same batch id on 503 (after Retry-After), 5xx, a lost connection or a timeout. A meter whose
credential is refused (401/403) bootstraps again and tries once more. The data is deterministic per
meter and day, so a rerun over the same days is acknowledged as replays and duplicates.

'update' has each bootstrapped meter take firmware updates from the OTA distributor as a real one does:
it checks in over a kept-open mutual-TLS connection with its operational certificate (ETag, 304),
verifies the directive with the keys bootstrap pinned and the manifest with its factory update
authority, downloads with resume, installs into the inactive slot, reboots, confirms or rolls back,
reports each state and signs a receipt; a meter whose certificate the distributor refuses (401/403
other than METER_NOT_ACTIVE) bootstraps again once (at --bootstrap-url, or its bundle's URI). It runs
in rounds, each meter polling again when the server says (at most --ota-poll-seconds in the sim) or
Retry-After allows, and prints one line per meter
(device id, outcome, installed sequence/version/digest, failure code) and a summary. Exit 1 when a
meter could not run or --until-idle reached its round cap with executions still active.

Options:
  --state DIR           the meters' folder (from 'meter-sim provision')
  --concurrency N       meters working at once (default 50)
  --limit N             only the first N meters
  --bootstrap-url URL   connect here instead of the bundles' bootstrap URI (same server, another route)
  --retry-for SECONDS   how long a meter keeps retrying (a bootstrap, one batch, or one request to the
                        distributor) before it gives up (default 60; 15 for 'update', whose next
                        round tries again)
  --json                print the report as one JSON line
  --help                this text

Options of 'report':
  --days N              days of data per meter
  --from YYYY-MM-DD     first day (UTC; default N days before today, so the last day is yesterday);
                        intervals not yet ended are never sent
  --batch-size N        readings per batch, 100 to 1000 (default ${DEFAULT_BATCH_SIZE})
  --duration SECONDS    stop starting new batches after this long (a fixed-length run)
  --rate N              send at most N readings a second, the whole fleet together (default no limit)
  --telemetry-uri URL   send here instead of the telemetry URI bootstrap gave the meters

Options of 'update':
  --until-idle          run rounds until no meter has an active execution (at most --max-rounds,
                        default ${DEFAULT_UNTIL_IDLE_ROUNDS})
  --max-rounds N        run at most N rounds (exactly N without --until-idle)
  --ota-uri URL         check in here instead of the OTA URI bootstrap gave the meters
  --ota-poll-seconds S  the sim's longest wait for a server poll interval (default 1)
  --ota-tamper-meters N the first N meters flip one byte of every image they download (they refuse
                        it: REJECTED DIGEST_MISMATCH)
  --ota-lose-receipt-meters N  the first N meters lose their first receipt on the way (the
                        distributor never hears it; the next check-in names the execution again and
                        the receipt is signed and sent again)
  --ota-fail-rate R     share of health checks after a reboot that fail (ROLLED_BACK), 0 to 1
  --ota-boot-fail-rate R  share of new images that never confirm (ROLLED_BACK), 0 to 1
  --ota-slow-bps N      download no faster than N bytes a second
  --ota-drop-at-bytes N every download attempt loses its connection after N bytes (then resumes)
  --ota-offline-days N  the meters were off N days (their trusted clock counts them)
  --ota-clock-skew MS   skew the meters' wall clock (which no trust decision reads); use =-MS to go back
  --ota-hardware-revisions A,B  meter i reports revision i mod n at check-in (campaigns stratify by it)`;

const UPDATE_FLAGS = [
  'until-idle',
  'max-rounds',
  'ota-uri',
  'ota-poll-seconds',
  'ota-tamper-meters',
  'ota-lose-receipt-meters',
  'ota-fail-rate',
  'ota-boot-fail-rate',
  'ota-slow-bps',
  'ota-drop-at-bytes',
  'ota-offline-days',
  'ota-clock-skew',
  'ota-hardware-revisions',
] as const;

export async function fleetCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      state: { type: 'string' },
      concurrency: { type: 'string' },
      limit: { type: 'string' },
      'bootstrap-url': { type: 'string' },
      'retry-for': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
      days: { type: 'string' },
      from: { type: 'string' },
      'batch-size': { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      'telemetry-uri': { type: 'string' },
      'until-idle': { type: 'boolean' },
      'max-rounds': { type: 'string' },
      'ota-uri': { type: 'string' },
      'ota-poll-seconds': { type: 'string' },
      'ota-tamper-meters': { type: 'string' },
      'ota-lose-receipt-meters': { type: 'string' },
      'ota-fail-rate': { type: 'string' },
      'ota-boot-fail-rate': { type: 'string' },
      'ota-slow-bps': { type: 'string' },
      'ota-drop-at-bytes': { type: 'string' },
      'ota-offline-days': { type: 'string' },
      'ota-clock-skew': { type: 'string' },
      'ota-hardware-revisions': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(FLEET_USAGE);
    return 0;
  }
  const [verb] = positionals;
  if (verb !== 'bootstrap' && verb !== 'renew' && verb !== 'report' && verb !== 'update')
    throw new FleetUsageError(`expected bootstrap, renew, report or update\n\n${FLEET_USAGE}`);
  if (!values.state) throw new FleetUsageError(`missing --state\n\n${FLEET_USAGE}`);
  const number = (value: string | undefined, name: string, fallback?: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new FleetUsageError(`--${name} must be a positive whole number`);
    return n;
  };
  const concurrency = number(values.concurrency, 'concurrency', 50)!;
  const updateOnly = UPDATE_FLAGS.filter((name) => values[name] !== undefined);
  if (verb !== 'update' && updateOnly.length > 0)
    usage(`--${updateOnly.join(', --')} only go with 'fleet update'`);
  if (verb === 'update') {
    const reportOnly = ['days', 'from', 'batch-size', 'rate', 'duration', 'telemetry-uri'];
    const misplaced = reportOnly.filter((name) => values[name as keyof typeof values] !== undefined);
    if (misplaced.length > 0) usage(`--${misplaced.join(', --')} do not go with 'fleet update'`);
    if (!values['until-idle'] && values['max-rounds'] === undefined)
      usage(`'fleet update' needs --until-idle or --max-rounds N`);
    let faults: UpdateFaults;
    try {
      faults = parseUpdateFaults(args);
    } catch (error) {
      usage((error as Error).message);
    }
    return runUpdate({
      stateDir: values.state,
      untilIdle: values['until-idle'] ?? false,
      maxRounds: number(values['max-rounds'], 'max-rounds', DEFAULT_UNTIL_IDLE_ROUNDS)!,
      otaUri: values['ota-uri'],
      pollSeconds:
        values['ota-poll-seconds'] === undefined
          ? 1
          : positive(values['ota-poll-seconds'], 'ota-poll-seconds'),
      concurrency,
      limit: number(values.limit, 'limit'),
      faults,
      tamperMeters:
        values['ota-tamper-meters'] === undefined
          ? 0
          : whole(values['ota-tamper-meters'], 'ota-tamper-meters'),
      hardwareRevisions: hardwareRevisions(values['ota-hardware-revisions']),
      loseReceiptMeters:
        values['ota-lose-receipt-meters'] === undefined
          ? 0
          : whole(values['ota-lose-receipt-meters'], 'ota-lose-receipt-meters'),
      client: { deadlineMs: number(values['retry-for'], 'retry-for', 15)! * 1000 },
      bootstrapUrl: values['bootstrap-url'],
      json: values.json ?? false,
    });
  }
  if (verb === 'report') {
    return sendReports({
      stateDir: values.state,
      days: number(values.days, 'days') ?? usage('missing --days'),
      from: values.from,
      batchSize: number(values['batch-size'], 'batch-size'),
      rate: values.rate === undefined ? undefined : positive(values.rate, 'rate'),
      durationMs: values.duration === undefined ? undefined : positive(values.duration, 'duration') * 1000,
      concurrency,
      telemetryUri: values['telemetry-uri'],
      limit: number(values.limit, 'limit'),
      bootstrapUrl: values['bootstrap-url'],
      retryForMs: number(values['retry-for'], 'retry-for', 60)! * 1000,
      json: values.json ?? false,
    });
  }
  const reportOnly = ['days', 'from', 'batch-size', 'rate', 'duration', 'telemetry-uri'].filter(
    (name) => values[name as keyof typeof values] !== undefined,
  );
  if (reportOnly.length > 0) usage(`--${reportOnly.join(', --')} only go with 'fleet report'`);
  const meters = loadFleet(values.state, {
    limit: number(values.limit, 'limit'),
    bootstrapUrl: values['bootstrap-url'],
    retryForMs: number(values['retry-for'], 'retry-for', 60)! * 1000,
  });
  if (meters.length === 0) throw new Error(`no provisioned meters under ${values.state}`);

  const report = await runFleet(
    meters,
    concurrency,
    (meter) => (verb === 'renew' ? meter.client.renew() : meter.client.bootstrap()),
    (done) => {
      if (done % 500 === 0 || done === meters.length)
        process.stderr.write(`fleet ${verb} ${done}/${meters.length}\n`);
    },
  );
  const summary = {
    verb,
    meters: meters.length,
    succeeded: report.succeeded,
    failed: report.failed.length,
    perSecond: Math.round((report.succeeded / report.elapsedMs) * 1000),
    p50Ms: Math.round(percentile(report.latenciesMs, 50)),
    p99Ms: Math.round(percentile(report.latenciesMs, 99)),
    elapsedMs: Math.round(report.elapsedMs),
  };
  if (values.json) console.log(JSON.stringify({ ...summary, failures: report.failed.slice(0, 20) }));
  else {
    console.log(
      `${verb}: ${summary.succeeded}/${summary.meters} meters in ${(summary.elapsedMs / 1000).toFixed(1)} s ` +
        `(${summary.perSecond}/s), p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, ${summary.failed} failed`,
    );
    for (const { endpointName, error } of report.failed.slice(0, 20))
      console.log(`  ${endpointName}: ${error}`);
  }
  return report.failed.length === 0 ? 0 : 1;
}

async function sendReports({ json, ...options }: FleetReportOptions & { json: boolean }) {
  try {
    checkReportOptions(options);
  } catch (error) {
    usage((error as Error).message);
  }
  const summary = await reportFleet({
    ...options,
    onProgress: (progress) => process.stderr.write(`${progressLine(progress)}\n`),
  });
  if (summary.meters === 0)
    throw new Error(
      `no provisioned and bootstrapped meters under ${options.stateDir} (run 'fleet bootstrap' first)`,
    );
  console.log(json ? JSON.stringify(summary) : JSON.stringify(summary, null, 2));
  return summary.failed === 0 ? 0 : 1;
}

function progressLine(p: FleetReportProgress): string {
  const eta = Number.isFinite(p.etaSeconds) ? `, ETA ${p.etaSeconds} s` : '';
  return (
    `fleet report ${p.metersDone}/${p.meters} meters, ${p.readingsSent}/${p.readingsTotal} readings, ` +
    `${p.readingsPerSecond} readings/s${eta}`
  );
}

async function runUpdate({ json, ...options }: FleetUpdateOptions & { json: boolean }): Promise<number> {
  const summary = await updateFleet({
    ...options,
    onRound: (round, active, meters) =>
      process.stderr.write(
        `fleet update round ${round}: ${active}/${meters} meters with an active execution\n`,
      ),
  });
  if (summary.meters === 0) throw new Error(`no provisioned meters under ${options.stateDir}`);
  if (json) console.log(JSON.stringify(summary));
  else {
    for (const device of summary.devices) console.log(meterLine(device));
    const outcomes = Object.entries(summary.outcomes)
      .map(([outcome, n]) => `${outcome} ${n}`)
      .join(', ');
    console.log(
      `update: ${summary.meters} meters, ${summary.rounds} rounds, ${summary.idle ? 'idle' : 'executions still active'}; ` +
        `${outcomes}; ${summary.bytesFetched} bytes fetched in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
    );
  }
  const errors = summary.outcomes.ERROR ?? 0;
  return errors > 0 || (options.untilIdle && !summary.idle) ? 1 : 0;
}

function whole(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a whole number`);
  return n;
}

/** A revision as the check-in takes it (a class id's form); refused here rather than by the server. */
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function hardwareRevisions(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const revisions = value.split(',');
  const bad = revisions.find((r) => !REVISION.test(r));
  if (bad !== undefined) usage(`--ota-hardware-revisions: '${bad}' is not a hardware revision`);
  return revisions;
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) usage(`--${name} must be a positive number`);
  return n;
}

function usage(message: string): never {
  throw new FleetUsageError(message);
}

export class FleetUsageError extends Error {}
