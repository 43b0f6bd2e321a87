// The fleet reports: each meter gets an occupancy (a household moves in, with a data key of its own),
// then a day of half-hourly readings goes over mutual TLS to the telemetry ingest, sealed there under
// the occupancy's key before it reaches Kafka.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:tls';
import { DemoError, api, runCliStatus, say } from './run.mjs';

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** The start of the previous UTC day: every reading of yesterday falls inside an occupancy from here on. */
export function startOfYesterday(now = new Date()) {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1));
}

/**
 * Opens an occupancy for each meter through privacy's operator API, `concurrency` requests at a time;
 * the household is known only by an opaque reference, never a name. Returns each meter's occupancy.
 */
export async function openOccupancies({ privacyUrl, apiKey, meterIds, from, concurrency = 16 }) {
  say(
    `privacy: opening an occupancy for each of ${meterIds.length} meters from ${from.toISOString()} (${concurrency} at a time)`,
  );
  const started = performance.now();
  const byMeter = new Map();
  let next = 0;
  const worker = async () => {
    while (next < meterIds.length) {
      const meterId = meterIds[next++];
      const occupancy = await api(privacyUrl, apiKey, 'POST', '/v1/occupancies', {
        json: {
          meterId,
          subjectRef: `subj-${randomBytes(9).toString('base64url')}`,
          from: from.toISOString(),
        },
      });
      byMeter.set(meterId, occupancy);
      const done = byMeter.size;
      if (done % 250 === 0 || done === meterIds.length)
        say(`privacy: ${done}/${meterIds.length} occupancies opened`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, meterIds.length) }, worker));
  const elapsed = performance.now() - started;
  say(
    `privacy: ${byMeter.size} occupancies open, each with its own data key, in ${seconds(elapsed)} (${Math.round((byMeter.size / elapsed) * 1000)}/s)`,
  );
  return byMeter;
}

/**
 * Waits until a mutual-TLS listener completes TLS handshakes with a certificate chaining to `caPem`
 * (its health route answers before it opens: it first gets its server certificate from bootstrap).
 */
export async function waitForTls({ port, caPem, what, timeoutMs = 60_000 }) {
  const started = performance.now();
  for (;;) {
    const outcome = await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: caPem, timeout: 2_000 });
      const end = (result) => {
        socket.destroy();
        resolve(result);
      };
      socket.once('secureConnect', () => end({ ok: true }));
      socket.once('timeout', () => end({ ok: false, error: new Error('timed out') }));
      socket.once('error', (error) => end({ ok: false, error }));
    });
    if (outcome.ok) return performance.now() - started;
    const notYet = ['ECONNREFUSED', 'ECONNRESET'].includes(outcome.error.code) || !outcome.error.code;
    if (!notYet) throw new DemoError(`${what} on port ${port}: ${outcome.error.message}`);
    if (performance.now() - started > timeoutMs)
      throw new DemoError(
        `${what} did not accept TLS connections on port ${port} within ${seconds(timeoutMs)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every bootstrapped meter sends yesterday's interval data; meter-sim's progress goes to the terminal. */
export function reportDay({ statesDir, count }) {
  say(
    `meter-sim: ${count} meters send yesterday's half-hourly readings to the telemetry ingest (mutual TLS)`,
  );
  const { status, stdout } = runCliStatus('meter-sim', [
    'fleet',
    'report',
    '--state',
    statesDir,
    '--days',
    '1',
    '--concurrency',
    '32',
    '--json',
  ]);
  let summary;
  try {
    summary = JSON.parse(stdout);
  } catch {
    throw new DemoError(`meter-sim fleet report failed (exit ${status}) without a summary`);
  }
  const items = summary.readings + summary.events;
  say(
    `meter-sim: ${summary.accepted}/${items} readings and events accepted from ${summary.succeeded} meters in ${seconds(summary.elapsedMs)} ` +
      `(${summary.readingsPerSecond} readings/s, ${summary.batches} batches, p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms), ` +
      `${summary.rejected} rejected, ${summary.duplicates} duplicates, ${summary.retries} retries, ${summary.failed} failed`,
  );
  for (const { endpointName, error } of summary.failures ?? []) say(`  ${endpointName}: ${error}`);
  for (const { batchId, section, index, code } of (summary.rejections ?? []).slice(0, 5))
    say(`  rejected ${section}[${index}] of ${batchId}: ${code}`);
  if (summary.failed > 0 || status !== 0)
    throw new DemoError(`${summary.failed} meter(s) could not send their readings (exit ${status})`);
  if (summary.accepted === 0) throw new DemoError('the ingest accepted no readings');
  return summary;
}
