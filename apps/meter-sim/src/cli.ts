import { parseArgs } from 'node:util';
import { asksForVersion, versionLine } from '@meterkeep/config';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ChangeOfTenancyError, OnMeterRecords } from './device/change-of-tenancy';
import { MeterStorage } from './device/meter-storage';
import { fleetCommand } from './fleet/fleet.command';
import { MeterProfile } from './telemetry/interval-data';
import { provisionBatch } from './provision.command';

const USAGE = `Usage: meter-sim <command> [options]

A fleet of simulated meters that behave as real ones do.

Commands:
  provision   load a factory batch into simulated meters and lock their factory path
  fleet       bring provisioned meters online (bootstrap or renew, N at a time), have them send
              days of interval data to the telemetry ingest (report), or take firmware updates from
              the OTA distributor (update)
  change-of-tenancy
              clear what the next occupant could read on a meter, with register snapshots before
              and after, as a GB prepayment meter does

Run meter-sim <command> --help for a command's options; meter-sim --version prints the release.`;

const PROVISION_USAGE = `Usage: meter-sim provision --batch DIR --manufacturer-ca FILE --state DIR [--limit N]

Each meter of the batch loads its bundle through the same checks as 'factory batch verify'
(complete, chains to the manufacturer root, key matches certificate, life covered), against the
manufacturer root its firmware trusts, then finalises: after that its factory path refuses writes.

Options:
  --batch DIR              a batch folder written by 'factory batch create'
  --manufacturer-ca FILE   the manufacturer root certificate (PEM) built into the meters
  --state DIR              where the simulated meters keep their non-volatile memory
  --limit N                provision only the first N meters
  --help                   this text`;

async function provision(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      batch: { type: 'string' },
      'manufacturer-ca': { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(PROVISION_USAGE);
    return 0;
  }
  const missing = ['batch', 'manufacturer-ca', 'state'].filter(
    (name) => !values[name as keyof typeof values],
  );
  if (missing.length > 0) throw new UsageError(`missing --${missing.join(', --')}\n\n${PROVISION_USAGE}`);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new UsageError('--limit must be a positive whole number');

  const report = await provisionBatch({
    batchDir: values.batch!,
    manufacturerCaFile: values['manufacturer-ca']!,
    stateDir: values.state!,
    limit,
    log: (line) => console.error(line),
  });
  console.log(
    `provisioned ${report.provisioned} meters, ${report.alreadyFinalized} already finalised, ${report.refused.length} refused`,
  );
  for (const { endpointName, reason } of report.refused.slice(0, 20))
    console.log(`  refused ${endpointName}: ${reason}`);
  return report.refused.length === 0 ? 0 : 1;
}

const CHANGE_OF_TENANCY_USAGE = `Usage: meter-sim change-of-tenancy --state DIR --meter NAME [--at ISO-INSTANT]

Takes a billing snapshot of the import register, clears the meter's stored load profile and event log
(its display and local interface show nothing from before --at afterwards), takes a snapshot after, and
prints both as one JSON line. --at defaults to now; an earlier instant is the occupant who left without
notice (what the meter measured since stays, for the next occupant); a later one is refused.

Options:
  --state DIR    the meters' folder (from 'meter-sim provision')
  --meter NAME   the meter's endpoint name
  --at INSTANT   when the tenancy changed (ISO 8601)
  --help         this text`;

function changeOfTenancy(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      state: { type: 'string' },
      meter: { type: 'string' },
      at: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(CHANGE_OF_TENANCY_USAGE);
    return 0;
  }
  if (!values.state || !values.meter)
    throw new UsageError(`missing --state or --meter\n\n${CHANGE_OF_TENANCY_USAGE}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(values.meter))
    throw new UsageError('--meter must be an endpoint name');
  const dir = join(values.state, values.meter);
  if (!existsSync(dir)) throw new UsageError(`no meter ${values.meter} in ${values.state}`);
  const at = values.at === undefined ? new Date() : new Date(values.at);
  const records = new OnMeterRecords(new MeterProfile(values.meter), new MeterStorage(dir));
  try {
    console.log(JSON.stringify({ meter: values.meter, ...records.changeOfTenancy(at) }));
    return 0;
  } catch (error) {
    if (error instanceof ChangeOfTenancyError) throw new UsageError(error.message);
    throw error;
  }
}

export class UsageError extends Error {}

/** Dispatches a meter-sim command line; resolves to the exit code. */
export async function runMeterSim(argv: string[]): Promise<number> {
  if (asksForVersion(argv)) {
    console.log(versionLine('meter-sim'));
    return 0;
  }
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'provision') return provision(rest);
  if (command === 'fleet') return fleetCommand(rest);
  if (command === 'change-of-tenancy') return changeOfTenancy(rest);
  throw new UsageError(`unknown command '${command}'\n\n${USAGE}`);
}
