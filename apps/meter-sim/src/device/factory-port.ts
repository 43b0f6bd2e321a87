import {
  type BundleChecker,
  type BundleFailure,
  type FactoryBundle,
  parseBundle,
} from '@meterkeep/factory-bundle';
import type { MeterStorage } from './meter-storage';

const BUNDLE_FILE = 'factory-bundle.json';
const LOCK_FILE = 'factory.locked';

export type FactoryPortErrorCode = 'FACTORY_LOCKED' | 'BUNDLE_REFUSED' | 'NOT_PROVISIONED';

export class FactoryPortError extends Error {
  constructor(
    readonly code: FactoryPortErrorCode,
    message: string,
    readonly failures: readonly BundleFailure[] = [],
  ) {
    super(message);
    this.name = 'FactoryPortError';
  }
}

/** Whether a meter's factory path is locked: read from its storage, no checks needed. */
export function isFactoryLocked(storage: MeterStorage): boolean {
  return storage.has(LOCK_FILE);
}

/** The bundle a meter boots with, parsed from its own storage (checked when it was loaded). */
export function storedBundle(storage: MeterStorage): FactoryBundle {
  const json = storage.read(BUNDLE_FILE);
  if (json === undefined) throw new FactoryPortError('NOT_PROVISIONED', 'no factory bundle loaded');
  return parseBundle(json);
}

/**
 * The factory configuration path of one meter, as a real meter exposes it on the production line: a
 * bundle is accepted only if it passes the same checks as `factory batch verify`, against the
 * manufacturer root built into the firmware (never one taken from the bundle). Finalising locks the
 * path for good: after it, every factory write is refused, across restarts.
 */
export class FactoryPort {
  constructor(
    private readonly storage: MeterStorage,
    private readonly checker: BundleChecker,
  ) {}

  get finalized(): boolean {
    return isFactoryLocked(this.storage);
  }

  /** Checks and stores a bundle; the meter keeps the last one written before finalising. */
  load(bundleJson: string): FactoryBundle {
    if (this.finalized)
      throw new FactoryPortError('FACTORY_LOCKED', 'the factory path is locked; factory writes are refused');
    const { bundle, failures } = this.checker.inspect(bundleJson);
    if (!bundle || failures.length > 0) {
      throw new FactoryPortError(
        'BUNDLE_REFUSED',
        `bundle refused: ${failures.map((f) => `${f.code} (${f.message})`).join('; ')}`,
        failures,
      );
    }
    this.storage.write(BUNDLE_FILE, bundleJson);
    return bundle;
  }

  /** Locks the factory path; only a meter holding a valid bundle can be finalised. */
  finalize(): void {
    if (this.finalized) return;
    if (!this.storage.has(BUNDLE_FILE)) {
      throw new FactoryPortError('NOT_PROVISIONED', 'no factory bundle loaded; nothing to finalise');
    }
    this.storage.write(LOCK_FILE, new Date().toISOString());
  }

  /** What the meter boots with: its bundle, parsed from its own storage. */
  bundle(): FactoryBundle {
    return storedBundle(this.storage);
  }
}
