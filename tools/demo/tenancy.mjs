// Change of tenancy, the "left without notice" case: the utility learns today that a household moved
// out yesterday at noon. Closing its occupancy back-dated makes privacy re-seal what the ingest had
// sealed under the old occupant's key since then under the next occupant's key (new records on
// telemetry.readings.v1 that name the originals in `supersedes`), and the release gate never lets the
// old occupant's values reach past the move-out. All of it read from raw Kafka.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { workspaceRoot } from '../swc-options.mjs';
import { dataKey, readTenantTopic } from './authorised-consumer.mjs';
import { DemoError, api, say } from './run.mjs';

const require = createRequire(import.meta.url);
const READINGS = 'telemetry.readings.v1';
const RELEASED = 'telemetry.released.v1';
const HOUR = 3_600_000;

/**
 * Closes `household`'s occupancy at noon of the day its readings cover (`from` + 12 h, in the past
 * whatever the time of day), opens the next occupant's there, waits for the re-sealed records and
 * checks them and the old occupant's releases. Returns the move-out and the next occupancy.
 */
export async function moveOutWithoutNotice({
  privacyUrl,
  internalPrivacyUrl,
  identity,
  apiKey,
  kafka,
  tenantId,
  readingsSince,
  releasedSince,
  household,
  from,
}) {
  const { openReadings } = require(join(workspaceRoot, 'dist/libs/reading-seal/src/index.js'));
  const movedOut = new Date(from.getTime() + 12 * HOUR);
  const started = performance.now();
  const closedAt = Date.now();
  const old = await api(privacyUrl, apiKey, 'POST', `/v1/occupancies/${household.occupancyId}/close`, {
    json: { to: movedOut.toISOString() },
  });
  const next = await api(privacyUrl, apiKey, 'POST', '/v1/occupancies', {
    json: {
      meterId: household.meterId,
      subjectRef: `subj-${randomBytes(9).toString('base64url')}`,
      from: movedOut.toISOString(),
    },
  });
  say(
    `privacy: household ${household.name} (${household.meterId}) left without notice at ${movedOut.toISOString()}, ` +
      `told today: its occupancy closed back-dated, the next occupant's opened there (key ${next.keyId})`,
  );

  // The meter's records since this run's readings began: the originals under the old key that reach
  // past the move-out (their clear reading-time bounds say so), and the re-sealed ones replacing them.
  const originals = [];
  const reseals = [];
  let parsed = 0;
  const enough = (records) => {
    for (const record of records.slice(parsed)) {
      parsed += 1;
      const event = JSON.parse(record.value.toString('utf8'));
      if (event.meterId !== household.meterId) continue;
      if (Array.isArray(event.supersedes)) reseals.push(event);
      else if (event.keyId === old.keyId && Date.parse(event.intervalTo ?? movedOut) >= movedOut.getTime())
        originals.push(event);
    }
    return originals.length > 0 && reseals.length >= originals.length;
  };
  await readTenantTopic({
    connection: kafka,
    topic: READINGS,
    tenantId,
    since: readingsSince,
    enough,
    // The worker takes jobs one at a time, oldest first: each occupancy the demo opened from yesterday
    // queued one (back-dated move-in) ahead of this one.
    timeoutMs: 180_000,
  });
  if (originals.length === 0)
    throw new DemoError(`no record of ${household.meterId} under the old key reaches past the move-out`);
  if (reseals.length < originals.length)
    throw new DemoError(`${reseals.length} of ${originals.length} records re-sealed within 180 s`);

  const nextKey = await dataKey({ privacyUrl: internalPrivacyUrl, identity, tenantId, keyId: next.keyId });
  const replaced = new Set(originals.map((o) => o.eventId));
  let readings = 0;
  for (const reseal of reseals) {
    if (reseal.keyId !== next.keyId) throw new DemoError(`a re-sealed record is under ${reseal.keyId}`);
    if (!reseal.supersedes.every((id) => replaced.has(id)))
      throw new DemoError('a re-sealed record supersedes a record that did not reach past the move-out');
    const opened = openReadings(reseal, nextKey);
    if (opened.readings.some((r) => Date.parse(r.intervalStart) < movedOut.getTime()))
      throw new DemoError('a re-sealed record holds a reading from before the move-out');
    readings += opened.readings.length;
  }
  nextKey.fill(0);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(
    `re-seal: ${readings} readings of ${household.meterId} from ${movedOut.toISOString()} on, in ${reseals.length} ` +
      `record(s), re-sealed under the next occupant's key in ${seconds} s; each names the original it supersedes`,
  );

  // What the gate released of the old occupant ends at the move-out (read until the half-hour ending
  // there is seen, or 15 s): the re-sealed readings are in no value of the old occupant's.
  const values = [];
  let seen = 0;
  const releasedAfter = (records) => {
    for (const record of records.slice(seen)) {
      seen += 1;
      const value = JSON.parse(record.value.toString('utf8'));
      if (value.occupancyId === household.occupancyId) values.push(value);
    }
    return values.some((v) => Date.parse(v.windowEnd) === movedOut.getTime());
  };
  await readTenantTopic({
    connection: kafka,
    topic: RELEASED,
    tenantId,
    since: releasedSince,
    enough: releasedAfter,
    timeoutMs: 15_000,
  });
  // Released before the utility knew of the move-out (yesterday's whole month, on the 1st) is history.
  const beyond = values.filter((v) => Date.parse(v.windowEnd) > movedOut.getTime());
  const leaked = beyond.filter((v) => Date.parse(v.occurredAt) >= closedAt);
  const window = (v) => `${v.recipient} ${v.granularity} ${v.windowStart} … ${v.windowEnd}`;
  const kinds = new Map();
  for (const v of values) {
    const kind = `${v.recipient} ${v.purpose} ${v.granularity}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const last = values.reduce((end, v) => Math.max(end, Date.parse(v.windowEnd)), 0);
  say(
    `release gate: household ${household.name}'s released set: ${values.length} value(s) (${[...kinds].map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'}), ` +
      (beyond.length === 0
        ? `the last window ending ${last ? new Date(last).toISOString() : '-'}: none of the ${readings} re-sealed readings is in it`
        : `past the move-out only what left before it was known: ${beyond.map(window).join(', ')}`),
  );
  if (leaked.length > 0)
    throw new DemoError(
      `the gate released ${leaked.map(window).join(', ')} of the old occupant after the move-out`,
    );
  return { movedOut, old, next, resealed: readings };
}
