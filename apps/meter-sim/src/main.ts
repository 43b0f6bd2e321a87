import { FleetUsageError } from './fleet/fleet.command';
import { UsageError, runMeterSim } from './cli';

runMeterSim(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    const usage =
      error instanceof UsageError ||
      error instanceof FleetUsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(`meter-sim: ${(error as Error).message}`);
    process.exitCode = usage ? 2 : 1;
  },
);
