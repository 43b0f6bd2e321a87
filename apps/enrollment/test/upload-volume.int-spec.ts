import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrollmentHarness, waitUntil } from './enrollment-test-kit';

// ENROLLMENT_VOLUME_ROWS=1000000 runs the largest list.
const ROWS = Number(process.env.ENROLLMENT_VOLUME_ROWS ?? 100_000);

/** A factory list generated as it is sent: the client holds no more of it than the server does. */
function* factoryList(prefix: string): Generator<string> {
  yield 'endpoint_name,certificate_sha256,model,batch_id\n';
  let chunk = '';
  for (let i = 0; i < ROWS; i++) {
    const name = `${prefix}-${String(i).padStart(7, '0')}`;
    chunk += `${name},${createHash('sha256').update(name).digest('hex')},EM-300,B-${Math.floor(i / 10_000)}\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
}

describe('enrollment: a large list streams through', () => {
  let h: EnrollmentHarness;
  let adminKey: string;

  beforeAll(async () => {
    h = await EnrollmentHarness.start();
    ({ adminKey } = await h.tenant('volume'));
  });
  afterAll(() => h?.stop());

  it(
    `enrolls ${ROWS} CSV rows sent chunked, in bounded memory, and publishes their events`,
    { timeout: 600_000 },
    async () => {
      const prefix = `VOL-${randomBytes(3).toString('hex')}`;
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      let heapPeak = process.memoryUsage().heapUsed;
      const sampler = setInterval(() => {
        const usage = process.memoryUsage();
        rssPeak = Math.max(rssPeak, usage.rss);
        heapPeak = Math.max(heapPeak, usage.heapUsed);
      }, 50);
      const started = performance.now();
      const response = await h.request<{ accepted: number; rejected: number }>(
        'POST',
        '/v1/enrollment-lists',
        {
          key: adminKey,
          body: Readable.toWeb(
            Readable.from(factoryList(prefix)),
          ) as WebReadableStream<Uint8Array> as ReadableStream,
          contentType: 'text/csv',
        },
      );
      const uploadMs = performance.now() - started;
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ accepted: ROWS, rejected: 0 });

      await waitUntil(async () => (await h.outboxSize()) === 0, {
        timeoutMs: 540_000,
        intervalMs: 500,
        description: 'the outbox to drain',
      });
      const drainMs = performance.now() - started - uploadMs;
      clearInterval(sampler);
      const { count } = await h.db
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('endpoint_name', 'like', `${prefix}-%`)
        .executeTakeFirstOrThrow();
      expect(Number(count)).toBe(ROWS);

      const figures = {
        rows: ROWS,
        uploadSeconds: +(uploadMs / 1000).toFixed(1),
        rowsPerSecond: Math.round(ROWS / (uploadMs / 1000)),
        publishSecondsAfterUpload: +(drainMs / 1000).toFixed(1),
        eventsPublished: ROWS * 2 + 1,
        rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
        rssPeakDeltaMiB: Math.round((rssPeak - rssBefore) / 2 ** 20),
        heapPeakMiB: Math.round(heapPeak / 2 ** 20),
        logLines: h.logs.length,
      };
      console.log(`upload figures: ${JSON.stringify(figures)}`);
      appendFileSync(
        '/tmp/enrollment-upload-figures.txt',
        `${new Date().toISOString()} ${JSON.stringify(figures)}\n`,
      );
    },
  );
});
