import type { HealthProbe } from '@meterkeep/observability';

export const HEALTH_PROBES = Symbol('HEALTH_PROBES');

/** Whether the service takes work: false from the first signal of shutdown on. */
export class ServiceState {
  draining = false;
  private readonly own: HealthProbe[] = [];

  constructor(private readonly stores: readonly HealthProbe[]) {}

  /** The stores' probes, then the service's own. */
  get probes(): readonly HealthProbe[] {
    return [...this.stores, ...this.own];
  }

  /** A condition of the service itself besides its stores: a read model caught up, a listener open. */
  addProbe(probe: HealthProbe): void {
    this.own.push(probe);
  }
}
