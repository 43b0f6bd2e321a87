import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { countMetric, startCounterAtZero } from './instruments';
import { startPrometheusEndpoint } from './prometheus-endpoint';
import { parsePrometheusText, samplesOf } from './prometheus-text';

describe('startCounterAtZero', () => {
  const endpoint = startPrometheusEndpoint(0, '127.0.0.1');
  afterEach(async () => {
    metrics.disable();
    await endpoint.close();
  });

  it('exports each given series at 0 before any increment, and counts on from there', async () => {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [endpoint.reader] }));
    const url = await endpoint.listening;
    const scrape = async () => parsePrometheusText(await (await fetch(url)).text());

    startCounterAtZero('certificatesIssued', [
      { 'meterkeep.issuance.kind': 'bootstrap' },
      { 'meterkeep.issuance.kind': 'renewal' },
    ]);
    const before = samplesOf(await scrape(), 'meterkeep_certificates_issued_total');
    expect(before.map((sample) => [sample.labels.meterkeep_issuance_kind, sample.value]).sort()).toEqual([
      ['bootstrap', 0],
      ['renewal', 0],
    ]);

    countMetric('certificatesIssued', { 'meterkeep.issuance.kind': 'renewal' }, 3);
    const after = await scrape();
    expect(
      samplesOf(after, 'meterkeep_certificates_issued_total', { meterkeep_issuance_kind: 'renewal' })[0]
        ?.value,
    ).toBe(3);
    expect(
      samplesOf(after, 'meterkeep_certificates_issued_total', { meterkeep_issuance_kind: 'bootstrap' })[0]
        ?.value,
    ).toBe(0);
  });
});
