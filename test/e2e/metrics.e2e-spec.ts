import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERTIFICATE_BOOTSTRAP, DEVICE_LIFECYCLE, TELEMETRY_BATCH_POST } from '@meterkeep/contracts';
import {
  METRICS,
  type PrometheusSample,
  parsePrometheusText,
  prometheusName,
  samplesOf,
} from '@meterkeep/observability';
import {
  type ActiveFleet,
  type DeviceClient,
  type Platform,
  type PlatformService,
  activeFleet,
  deviceClient,
  startPlatform,
  waitUntil,
} from '@meterkeep/testing';
import { dayOfReadings, kafkaClient, utcDay } from './telemetry-kit';

// The services as built, each with its Prometheus endpoint: every named metric appears with its
// labels after real requests and real Kafka records, and no label carries a device id.
describe('metrics, scraped from the running services', () => {
  const logs = mkdtempSync(join(tmpdir(), 'meterkeep-metrics-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  const tenantId = `mx-${runId.toLowerCase()}`;
  let platform: Platform;
  let fleet: ActiveFleet;
  let ingest: DeviceClient;

  const scrape = async (service: PlatformService): Promise<PrometheusSample[]> => {
    const url = platform.metrics[service];
    if (!url) throw new Error(`${service} has no metrics endpoint`);
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    return parsePrometheusText(await answer.text());
  };
  const total = (samples: PrometheusSample[], name: string, labels: Record<string, string>) =>
    samplesOf(samples, name, labels).reduce((sum, sample) => sum + sample.value, 0);

  beforeAll(async () => {
    platform = await startPlatform({ logs, metrics: true });
    fleet = await activeFleet(platform, { tenantId, count: 2, prefix: `MX${runId}M` });
    ingest = deviceClient(platform.ingestUri, platform.serverCaPem, {
      statesDir: fleet.batch.statesDir,
      endpointName: fleet.batch.endpointNames[0]!,
    });
  }, 300_000);

  afterAll(async () => {
    ingest?.close();
    await platform?.stop();
  });

  // Before anything happened to them: a series born at its first increment would hide that increment
  // from rate() and increase(). Label sets nothing in this run touches are exported, at 0.
  it('every service starts its counters at 0 for the label values it knows in advance', async () => {
    const zero = (samples: PrometheusSample[], name: string, labels: Record<string, string>) => {
      const found = samplesOf(samples, name, labels);
      expect(
        found.map((sample) => sample.value),
        `${name} ${JSON.stringify(labels)}`,
      ).toEqual([0]);
    };
    const bootstrap = await scrape('bootstrap');
    zero(bootstrap, 'meterkeep_bootstrap_onboardings_total', {
      meterkeep_bootstrap_method: 'psk',
      meterkeep_outcome: 'success',
    });
    zero(bootstrap, 'meterkeep_bootstrap_onboardings_total', {
      meterkeep_bootstrap_method: 'certificate',
      meterkeep_outcome: 'RATE_LIMITED',
    });
    zero(bootstrap, 'meterkeep_certificates_issued_total', { meterkeep_issuance_kind: 'renewal' });
    for (const reason of ['privilegeWithdrawn', 'cessationOfOperation'])
      zero(bootstrap, 'meterkeep_certificates_revoked_total', { meterkeep_revocation_reason: reason });
    zero(bootstrap, 'meterkeep_http_overload_answers_total', {
      http_route: CERTIFICATE_BOOTSTRAP.path,
      http_response_status_code: '503',
      meterkeep_listener: 'device',
      meterkeep_code: 'UNAVAILABLE',
    });
    zero(bootstrap, 'meterkeep_kafka_dead_letters_total', {
      messaging_destination_name: DEVICE_LIFECYCLE.name,
      messaging_consumer_group_name: 'bootstrap',
    });

    const ingestSamples = await scrape('telemetry-ingest');
    zero(ingestSamples, 'meterkeep_telemetry_items_total', {
      meterkeep_telemetry_section: 'events',
      meterkeep_outcome: 'accepted',
      meterkeep_code: 'none',
    });
    zero(ingestSamples, 'meterkeep_telemetry_items_total', {
      meterkeep_telemetry_section: 'readings',
      meterkeep_outcome: 'refused',
      meterkeep_code: 'OBIS_LIMIT_REACHED',
    });
    zero(ingestSamples, 'meterkeep_http_overload_answers_total', {
      http_route: TELEMETRY_BATCH_POST.path,
      http_response_status_code: '503',
      meterkeep_listener: 'device',
      meterkeep_code: 'KEY_VAULT_UNAVAILABLE',
    });

    const privacy = await scrape('privacy');
    for (const kind of ['data-key', 'certified', 'retention-expiry'])
      zero(privacy, 'meterkeep_privacy_erasures_total', { meterkeep_erasure_kind: kind });
  });

  it('bootstrap: onboardings by outcome, certificates issued, device-listener requests by route', async () => {
    const samples = await scrape('bootstrap');
    expect(
      total(samples, 'meterkeep_bootstrap_onboardings_total', {
        meterkeep_bootstrap_method: 'certificate',
        meterkeep_outcome: 'success',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      total(samples, 'meterkeep_certificates_issued_total', { meterkeep_issuance_kind: 'bootstrap' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      total(samples, 'http_server_request_duration_count', {
        http_route: CERTIFICATE_BOOTSTRAP.path,
        http_request_method: 'POST',
        http_response_status_code: '200',
        meterkeep_listener: 'device',
      }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('telemetry-ingest: items accepted and refused by code, and no device id in a route label', async () => {
    const meter = fleet.batch.endpointNames[0]!;
    const readings = dayOfReadings(utcDay(1), 3, 4);
    const answer = await ingest.post(TELEMETRY_BATCH_POST.path, {
      batchId: `mx-${runId}`,
      readings: [...readings, { ...readings[0], intervalMinutes: 7, intervalStart: 'not a time' }],
    });
    expect(answer.status).toBe(200);
    const refusedCode = (answer.body as { rejected: { code: string }[] }).rejected[0]!.code;
    // A path holding the meter's id, on the device listener: answered 404, labelled `unmatched`.
    expect((await ingest.get(`/tl/v1/meters/${meter}`)).status).toBe(404);

    const samples = await scrape('telemetry-ingest');
    expect(
      total(samples, 'meterkeep_telemetry_items_total', {
        meterkeep_telemetry_section: 'readings',
        meterkeep_outcome: 'accepted',
      }),
    ).toBe(4);
    expect(
      total(samples, 'meterkeep_telemetry_items_total', {
        meterkeep_telemetry_section: 'readings',
        meterkeep_outcome: 'refused',
        meterkeep_code: refusedCode,
      }),
    ).toBe(1);
    expect(
      total(samples, 'http_server_request_duration_count', {
        http_route: TELEMETRY_BATCH_POST.path,
        meterkeep_listener: 'device',
        http_response_status_code: '200',
      }),
    ).toBe(1);
    expect(
      total(samples, 'http_server_request_duration_count', {
        http_route: 'unmatched',
        meterkeep_listener: 'device',
        http_response_status_code: '404',
      }),
    ).toBe(1);
  });

  it('enrollment: operator requests by route template, never the device id in the path', async () => {
    const meter = fleet.batch.endpointNames[1]!;
    expect((await fleet.api('GET', `/v1/devices/${encodeURIComponent(meter)}`)).status).toBe(200);
    const samples = await scrape('enrollment');
    const routes = samplesOf(samples, 'http_server_request_duration_count', {
      http_request_method: 'GET',
      meterkeep_listener: 'operator',
      http_response_status_code: '200',
    }).map((sample) => sample.labels.http_route);
    expect(routes).toContain('/v1/devices/:endpoint');
    // The outbox is relayed by enrollment: its backlog is reported.
    expect(samplesOf(samples, 'meterkeep_outbox_backlog')).toHaveLength(1);
    expect(samplesOf(samples, 'meterkeep_outbox_oldest_age')).toHaveLength(1);
  });

  it('no service labels anything with a meter or tenant id', async () => {
    for (const service of ['enrollment', 'bootstrap', 'privacy', 'telemetry-ingest'] as const) {
      const labels = (await scrape(service)).flatMap((sample) => Object.values(sample.labels));
      for (const id of [...fleet.batch.endpointNames, tenantId])
        expect(
          labels.filter((value) => value.includes(id)),
          `${service} labels holding ${id}`,
        ).toEqual([]);
    }
  });

  it('every service: runtime metrics, and the lag of its consumer groups per partition', async () => {
    for (const service of ['enrollment', 'bootstrap', 'privacy', 'telemetry-ingest'] as const) {
      const samples = await scrape(service);
      for (const key of ['eventLoopDelayP99', 'eventLoopUtilization', 'heapLimit', 'processMemory'] as const)
        expect(samplesOf(samples, prometheusName(METRICS[key].name)), `${service} ${key}`).toHaveLength(1);
      expect(samplesOf(samples, 'v8js_memory_heap_used').length, service).toBeGreaterThan(1);
    }
    for (const service of ['bootstrap', 'telemetry-ingest'] as const) {
      const lag = await waitUntil(
        async () => {
          const found = samplesOf(await scrape(service), 'meterkeep_kafka_consumer_lag');
          return found.length > 0 ? found : undefined;
        },
        { description: `${service} to report consumer lag`, timeoutMs: 20_000 },
      );
      for (const sample of lag) {
        expect(sample.labels.messaging_consumer_group_name, service).toBeTruthy();
        expect(sample.labels.messaging_destination_name, service).toBeTruthy();
        expect(sample.labels.messaging_destination_partition_id, service).toMatch(/^\d+$/);
        expect(sample.value).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('a record no contract accepts is counted as a dead letter of its topic and group', async () => {
    const kafka = kafkaClient();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({
        topic: DEVICE_LIFECYCLE.name,
        messages: [{ key: `${tenantId}/not-a-meter`, value: 'not json' }],
      });
    } finally {
      await producer.disconnect();
    }
    const dead = await waitUntil(
      async () => {
        const found = samplesOf(await scrape('bootstrap'), 'meterkeep_kafka_dead_letters_total', {
          messaging_destination_name: DEVICE_LIFECYCLE.name,
        });
        // The series is there from the start, at 0: wait for the count.
        return found.some((sample) => sample.value > 0) ? found : undefined;
      },
      { description: 'bootstrap to dead-letter the record', timeoutMs: 30_000 },
    );
    expect(dead.find((sample) => sample.value > 0)!.labels.messaging_consumer_group_name).toBeTruthy();
    expect(dead.reduce((sum, sample) => sum + sample.value, 0)).toBeGreaterThanOrEqual(1);
  });
});
