import { createPrivateKey, createPublicKey } from 'node:crypto';
import { sleepFor } from '../device/backoff';
import type { BootstrapClient } from '../device/bootstrap-client';
import { storedBundle } from '../device/factory-port';
import type { MeterStorage } from '../device/meter-storage';
import {
  DistributorError,
  DistributorHttpClient,
  type DistributorHttpClientOptions,
} from '../update/distributor-http-client';
import { type RunOutcome, UpdateEngine } from '../update/update-engine';
import type { UpdateFaults } from '../update/update-faults';
import type { UpdateStateName } from '../update/update-state';
import { loadFleet } from './fleet';

/** The components a simulated meter has (the sim's hardware: no separate metrology part). */
export const SIM_COMPONENTS = ['app', 'modem'] as const;
/** Rounds `--until-idle` runs at most when no `--max-rounds` is given. */
export const DEFAULT_UNTIL_IDLE_ROUNDS = 200;

export interface FleetUpdateOptions {
  readonly stateDir: string;
  /** Stop as soon as no meter has an active execution (its last check-in named none). */
  readonly untilIdle: boolean;
  /** The round cap. */
  readonly maxRounds: number;
  /** Instead of the OTA URI bootstrap gave (the same distributor, reached another way). */
  readonly otaUri?: string;
  /**
   * The sim's clock for poll intervals: a meter told to poll again in P seconds does so after
   * min(P, pollSeconds) (an hour-long interval in a run of seconds). Retry-After is honoured as said.
   */
  readonly pollSeconds: number;
  readonly concurrency: number;
  readonly limit?: number;
  readonly faults: UpdateFaults;
  /** Meter i of the fleet reports hardwareRevisions[i mod n] at check-in (none when empty). */
  readonly hardwareRevisions?: readonly string[];
  /** The first N meters of the fleet flip one byte of every image they download. */
  readonly tamperMeters: number;
  /** The first N meters of the fleet lose their first receipt POST (the next check-in recovers it). */
  readonly loseReceiptMeters?: number;
  /** Where a meter whose certificate the distributor refuses bootstraps again (default: its bundle's URI). */
  readonly bootstrapUrl?: string;
  /** For tests: the clients' timing. */
  readonly client?: Pick<DistributorHttpClientOptions, 'deadlineMs' | 'timeoutMs' | 'sleep' | 'random'>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onRound?: (round: number, active: number, meters: number) => void;
}

/** What one meter came to in this run. */
export interface MeterUpdateResult {
  readonly deviceId: string;
  /**
   * The last state an execution reached in this run; IDLE when the distributor named none; ERROR when
   * the meter could not run or its last round failed (see `error`).
   */
  outcome: UpdateStateName | 'ERROR';
  failureCode?: string;
  error?: string;
  installedSequence?: number;
  installedManifestDigest?: string;
  installedVersion?: string;
  bytesFetched: number;
  tampering: boolean;
  /** The distributor refused its operational certificate, and it bootstrapped again. */
  rebootstrapped?: boolean;
}

export interface FleetUpdateSummary {
  readonly meters: number;
  readonly rounds: number;
  /** No meter had an active execution at its last check-in. */
  readonly idle: boolean;
  readonly outcomes: Record<string, number>;
  readonly bytesFetched: number;
  readonly elapsedMs: number;
  readonly devices: MeterUpdateResult[];
}

interface UpdatingMeter {
  readonly result: MeterUpdateResult;
  /** Its place in the fleet (the first N take a fault). */
  readonly index: number;
  engine?: UpdateEngine;
  client?: DistributorHttpClient;
  readonly bootstrap?: BootstrapClient;
  readonly storage?: MeterStorage;
  /** It bootstrapped again in this run (once at most). */
  rebootstrapped?: boolean;
  /** Epoch ms of its next check-in. */
  dueAt: number;
  /** Its last check-in named no execution. */
  idle: boolean;
}

/**
 * `meter-sim fleet update`: every bootstrapped meter runs its update engine against the distributor, in
 * rounds (check in, carry out what the directive says as far as it goes now), each meter polling again
 * when the server said (scaled for the sim) or when Retry-After allows, until no meter has an active
 * execution or the round cap.
 */
export async function updateFleet(options: FleetUpdateOptions): Promise<FleetUpdateSummary> {
  const started = performance.now();
  const sleep = options.sleep ?? sleepFor;
  const meters = fleetMeters(options);
  try {
    let rounds = 0;
    let idle = false;
    const runnable = meters.filter((m) => m.engine);
    while (rounds < options.maxRounds && runnable.length > 0) {
      const wait = Math.min(...runnable.map((m) => m.dueAt)) - Date.now();
      if (wait > 0) await sleep(wait);
      rounds += 1;
      const now = Date.now();
      await pool(
        runnable.filter((m) => m.dueAt <= now),
        options.concurrency,
        (meter) => runRound(meter, options),
      );
      const active = runnable.filter((m) => !m.idle).length;
      options.onRound?.(rounds, active, meters.length);
      idle = active === 0;
      if (options.untilIdle && idle) break;
    }
    for (const meter of meters) installed(meter);
    const outcomes: Record<string, number> = {};
    for (const { result } of meters) outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
    return {
      meters: meters.length,
      rounds,
      idle,
      outcomes,
      bytesFetched: meters.reduce((sum, m) => sum + m.result.bytesFetched, 0),
      elapsedMs: Math.round(performance.now() - started),
      devices: meters.map((m) => m.result),
    };
  } finally {
    for (const meter of meters) meter.client?.close();
  }
}

/** The provisioned meters under the state folder, each with its engine and client, or its reason why not. */
function fleetMeters(options: FleetUpdateOptions): UpdatingMeter[] {
  return loadFleet(options.stateDir, { limit: options.limit, bootstrapUrl: options.bootstrapUrl }).map(
    ({ endpointName, client, storage }, index) => {
      const tampering = index < options.tamperMeters;
      const result: MeterUpdateResult = {
        deviceId: endpointName,
        outcome: 'IDLE',
        bytesFetched: 0,
        tampering,
      };
      try {
        const built = meterEngine(client, storage, options, tampering, index);
        return { result, index, ...built, bootstrap: client, storage, dueAt: 0, idle: false };
      } catch (error) {
        Object.assign(result, { outcome: 'ERROR', error: (error as Error).message });
        return { result, index, dueAt: Infinity, idle: true };
      }
    },
  );
}

function meterEngine(
  bootstrap: BootstrapClient,
  storage: MeterStorage,
  options: FleetUpdateOptions,
  tampering: boolean,
  index: number,
) {
  const bundle = storedBundle(storage);
  const operational = bootstrap.operational();
  const tls = bootstrap.operationalTls();
  if (!operational || !tls) throw new Error('no operational credential: run fleet bootstrap first');
  const directivePublicKeys = bootstrap.directivePublicKeys();
  if (directivePublicKeys.length === 0)
    throw new Error('bootstrap named no directive key (a server before contract 1.1): bootstrap again');
  const client = new DistributorHttpClient({
    baseUrl: options.otaUri ?? operational.servers.ota.uri,
    credential: tls,
    storage,
    ...options.client,
  });
  const engine = new UpdateEngine({
    storage,
    identity: {
      deviceId: bundle.endpointName,
      vendorId: bundle.vendorId,
      classId: bundle.classId,
      components: SIM_COMPONENTS,
      ...(options.hardwareRevisions?.length && {
        hardwareRevision: options.hardwareRevisions[index % options.hardwareRevisions.length],
      }),
    },
    trust: {
      directivePublicKeys,
      rootPublicKeys: [createPublicKey(bundle.updateAuthorityPublicKeyPem)],
      operationalPrivateKey: createPrivateKey(operational.privateKeyPem),
    },
    distributor: client,
    initialTrustedTime: new Date(operational.serverTime),
    faults: {
      ...options.faults,
      tamperImages: tampering,
      loseFirstReceipt: index < (options.loseReceiptMeters ?? 0),
    },
  });
  return { engine, client };
}

async function runRound(meter: UpdatingMeter, options: FleetUpdateOptions): Promise<void> {
  const { result } = meter;
  let outcome: RunOutcome;
  try {
    try {
      outcome = await meter.engine!.runOnce();
    } catch (error) {
      if (!credentialGone(error) || meter.rebootstrapped) throw error;
      // Its operational certificate is refused (expired, revoked, unknown): a real meter falls back to
      // bootstrap with its factory identity, once, and tries again with the new one.
      meter.rebootstrapped = true;
      await meter.bootstrap!.bootstrap();
      meter.client!.close();
      Object.assign(
        meter,
        meterEngine(meter.bootstrap!, meter.storage!, options, meter.result.tampering, meter.index),
      );
      result.rebootstrapped = true;
      outcome = await meter.engine!.runOnce();
    }
  } catch (error) {
    result.outcome = 'ERROR';
    result.error = (error as Error).message;
    delete result.failureCode;
    meter.idle = false;
    const retryAfter = error instanceof DistributorError ? error.details.retryAfterSeconds : undefined;
    meter.dueAt = Date.now() + (retryAfter ?? options.pollSeconds) * 1000;
    return;
  }
  result.bytesFetched += outcome.bytesFetched;
  meter.idle = outcome.state === 'IDLE';
  if (!meter.idle || result.outcome === 'ERROR') {
    // An execution's state is kept across the rounds that end IDLE (its end, told by the distributor).
    result.outcome = outcome.state;
    delete result.error;
    if (outcome.failureCode !== undefined) result.failureCode = outcome.failureCode;
    else delete result.failureCode;
  }
  const poll = Math.min(outcome.pollAfterSeconds ?? options.pollSeconds, options.pollSeconds);
  meter.dueAt = Date.now() + poll * 1000;
}

/** The distributor refused the meter's certificate itself (not a meter it holds: that one bootstrap refuses too). */
function credentialGone(error: unknown): boolean {
  return (
    error instanceof DistributorError &&
    error.code === 'CREDENTIAL_REFUSED' &&
    error.details.serverCode !== 'METER_NOT_ACTIVE'
  );
}

/** The installed firmware of the meter's first component, from its own state. */
function installed(meter: UpdatingMeter): void {
  const component = meter.engine?.snapshot.components[SIM_COMPONENTS[0]];
  if (!component) return;
  if (component.installedSequence !== undefined) meter.result.installedSequence = component.installedSequence;
  if (component.installedManifestDigest !== undefined)
    meter.result.installedManifestDigest = component.installedManifestDigest;
  if (component.version !== undefined) meter.result.installedVersion = component.version;
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

/** One line per meter: device id, outcome, installed sequence/version/digest, failure code or error. */
export function meterLine(result: MeterUpdateResult): string {
  const installedText =
    result.installedManifestDigest === undefined
      ? 'factory firmware'
      : `seq ${result.installedSequence} ${result.installedVersion ?? '?'} ${result.installedManifestDigest.slice(0, 16)}…`;
  const why = result.error ?? result.failureCode;
  return `${result.deviceId}  ${result.outcome.padEnd(17)} ${installedText}${why ? `  ${why}` : ''}${
    result.tampering ? '  (tampering)' : ''
  }`;
}
