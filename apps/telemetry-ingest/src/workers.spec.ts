import { describe, expect, it } from 'vitest';
import { workerMetricsPort } from './workers';

describe('workerMetricsPort', () => {
  it('gives worker n the port METRICS_PORT + n: one endpoint per worker, never one shared', () => {
    expect(workerMetricsPort(0, { METRICS_PORT: '9464' })).toEqual({ METRICS_PORT: '9464' });
    expect(workerMetricsPort(3, { METRICS_PORT: '9464' })).toEqual({ METRICS_PORT: '9467' });
  });

  it('leaves the metrics off when they are off, and port 0 (any free port) as it is', () => {
    expect(workerMetricsPort(1, {})).toEqual({});
    expect(workerMetricsPort(1, { METRICS_PORT: '0' })).toEqual({});
  });
});
