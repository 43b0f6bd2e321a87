import { parseArgs } from 'node:util';
import { loadFleet, percentile, runFleet } from './fleet';

export const FLEET_USAGE = `Usage: meter-sim fleet bootstrap|renew --state DIR [options]

Brings provisioned meters online as real ones do: each makes a new operational key, sends a CSR over
a new mutually authenticated TLS connection (factory certificate, or PSK proof over a server nonce),
keeps the certificate and configuration it gets, and retries when told to (503, 429) with backoff.
'renew' renews ACTIVE meters with their current operational certificate instead.

Options:
  --state DIR           the meters' folder (from 'meter-sim provision')
  --concurrency N       meters working at once (default 50)
  --limit N             only the first N meters
  --bootstrap-url URL   connect here instead of the bundles' bootstrap URI (same server, another route)
  --retry-for SECONDS   how long a meter keeps retrying before it gives up (default 60)
  --json                print the report as one JSON line
  --help                this text`;

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
    },
  });
  if (values.help) {
    console.log(FLEET_USAGE);
    return 0;
  }
  const [verb] = positionals;
  if (verb !== 'bootstrap' && verb !== 'renew')
    throw new FleetUsageError(`expected bootstrap or renew\n\n${FLEET_USAGE}`);
  if (!values.state) throw new FleetUsageError(`missing --state\n\n${FLEET_USAGE}`);
  const number = (value: string | undefined, name: string, fallback?: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new FleetUsageError(`--${name} must be a positive whole number`);
    return n;
  };
  const concurrency = number(values.concurrency, 'concurrency', 50)!;
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

export class FleetUsageError extends Error {}
