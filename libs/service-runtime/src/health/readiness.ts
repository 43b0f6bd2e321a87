import type { HealthProbe } from '@meterkeep/observability';

export const HEALTH_PROBES = Symbol('HEALTH_PROBES');

/** Whether the service takes work: false from the first signal of shutdown on. */
export class ServiceState {
  draining = false;
  constructor(readonly probes: readonly HealthProbe[]) {}
}
