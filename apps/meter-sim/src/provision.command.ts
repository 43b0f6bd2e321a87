import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BundleChecker, parseBundle } from '@meterkeep/factory-bundle';
import { batchBundles } from './device/batch-bundles';
import { FactoryPort, FactoryPortError } from './device/factory-port';
import { MeterStorage } from './device/meter-storage';

export interface ProvisionOptions {
  batchDir: string;
  /** The manufacturer root the simulated meters' firmware trusts. */
  manufacturerCaFile: string;
  stateDir: string;
  limit?: number;
  log?: (line: string) => void;
}

export interface ProvisionReport {
  provisioned: number;
  alreadyFinalized: number;
  refused: { endpointName: string; reason: string }[];
}

/**
 * The production line's last station: each meter of a batch loads its bundle through its own checks
 * and finalises, locking its factory path. Re-running skips meters that are already locked.
 */
export async function provisionBatch(options: ProvisionOptions): Promise<ProvisionReport> {
  const checker = new BundleChecker({
    manufacturerRootPem: readFileSync(options.manufacturerCaFile, 'utf8'),
    at: new Date(),
  });
  const report: ProvisionReport = { provisioned: 0, alreadyFinalized: 0, refused: [] };
  let seen = 0;
  for await (const json of batchBundles(options.batchDir)) {
    if (options.limit !== undefined && seen >= options.limit) break;
    seen += 1;
    let endpointName: string;
    try {
      endpointName = parseBundle(json).endpointName;
    } catch (error) {
      report.refused.push({ endpointName: `(bundle ${seen})`, reason: (error as Error).message });
      continue;
    }
    const port = new FactoryPort(new MeterStorage(join(options.stateDir, endpointName)), checker);
    try {
      port.load(json);
      port.finalize();
      report.provisioned += 1;
    } catch (error) {
      if (error instanceof FactoryPortError && error.code === 'FACTORY_LOCKED') report.alreadyFinalized += 1;
      else report.refused.push({ endpointName, reason: (error as Error).message });
    }
    if (seen % 1000 === 0) options.log?.(`provisioned ${report.provisioned} meters`);
  }
  return report;
}
