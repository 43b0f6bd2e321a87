// Consent decides what leaves the platform: a few households tell the utility what an energy coach
// (a third party) may have, the release gate lets out each one's readings at that granularity and no
// finer, and a withdrawal stops it. What left is read from raw Kafka: telemetry.released.v1 carries
// the window and granularity in the clear, the totals sealed under a purpose-scoped key.
import { createHash } from 'node:crypto';
import { readTenantTopic, topicEnds } from './authorised-consumer.mjs';
import { DemoError, api, say } from './run.mjs';

const RELEASED = 'telemetry.released.v1';
const COACH = 'third-party:energy-coach';
const DAY = 86_400_000;

// Evidence is a reference to what the customer saw, never their details (the API refuses anything else).
const evidence = (script) =>
  `web:${script}/v1/sha256:${createHash('sha256').update(`demo ${script} text`).digest('hex')}`;

/** The households and what each one told the utility about the coach. */
const HOUSEHOLDS = [
  { name: 'A', story: 'half-hourly opt-in', granularity: 'half-hourly' },
  { name: 'B', story: 'daily', granularity: 'daily' },
  { name: 'C', story: 'monthly; opted out of supplier insights', granularity: 'monthly', optOut: true },
  { name: 'D', story: 'half-hourly, then withdrawn', granularity: 'half-hourly', withdraw: true },
];

/** Where the released topic ends now: this run's values lie beyond. */
export const releasedTopicEnds = (connection) => topicEnds(connection, RELEASED);

/**
 * Before the readings arrive: each household's consent for the coach, reaching back to the start of
 * its occupancy (a third party's historical period), and D's withdrawal before any pass released it.
 */
export async function recordConsents({ privacyUrl, apiKey, occupancies, from }) {
  const chosen = [...occupancies.entries()].slice(0, HOUSEHOLDS.length);
  if (chosen.length < HOUSEHOLDS.length)
    throw new DemoError(`the consent demo needs ${HOUSEHOLDS.length} meters`);
  const households = HOUSEHOLDS.map((household, i) => ({
    ...household,
    meterId: chosen[i][0],
    occupancyId: chosen[i][1].occupancyId,
  }));
  const consent = (household, json) =>
    api(privacyUrl, apiKey, 'POST', `/v1/occupancies/${household.occupancyId}/consents`, { json });
  for (const household of households) {
    await consent(household, {
      action: 'grant',
      purpose: 'third-party',
      recipient: COACH,
      granularity: household.granularity,
      basis: 'consent',
      historicalFrom: from.toISOString(),
      effectiveTo: new Date(Date.now() + 30 * DAY).toISOString(),
      evidenceRef: evidence('coach-optin'),
    });
    if (household.optOut)
      await consent(household, {
        action: 'opt-out',
        purpose: 'supplier-insights',
        recipient: 'supplier',
        evidenceRef: evidence('insights-optout'),
      });
    if (household.withdraw)
      await consent(household, {
        action: 'withdraw',
        purpose: 'third-party',
        recipient: COACH,
        evidenceRef: evidence('coach-withdraw'),
      });
  }
  say(
    `privacy: consents recorded for ${households.length} households (${households.map((h) => `${h.name} ${h.story}`).join('; ')})`,
  );
  return households;
}

/**
 * After a day of readings: waits for the gate to release the coach's values, then prints per household
 * what left, at which granularity, and checks nothing finer than its consent got out.
 */
export async function showReleases({ kafka, tenantId, since, households, from, timeoutMs = 180_000 }) {
  const monthEnd = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
  // Yesterday closes its month on the 1st: then the month (cut at the occupancy's start) is out too.
  const monthClosed = monthEnd.getTime() <= from.getTime() + DAY;
  const expected = { 'half-hourly': 48, daily: 1, monthly: monthClosed ? 1 : 0 };
  const coachOf = (values, household) =>
    values.filter((v) => v.occupancyId === household.occupancyId && v.recipient === COACH);
  say(`release gate: waiting for the coach's values of yesterday (${RELEASED}, read from raw Kafka)`);
  const started = performance.now();
  // Counted as they arrive (the supplier's values run to tens of thousands): each record parsed once.
  const values = [];
  const coachCounts = new Map();
  const enough = (records) => {
    for (const record of records.slice(values.length)) {
      const value = JSON.parse(record.value.toString('utf8'));
      values.push(value);
      if (value.recipient === COACH)
        coachCounts.set(value.occupancyId, (coachCounts.get(value.occupancyId) ?? 0) + 1);
    }
    return households.every(
      (h) => h.withdraw || (coachCounts.get(h.occupancyId) ?? 0) >= expected[h.granularity],
    );
  };
  enough(await readTenantTopic({ connection: kafka, topic: RELEASED, tenantId, since, timeoutMs, enough }));
  console.log('');
  console.log(`what the energy coach got, per household (yesterday's 48 half-hourly readings each)`);
  console.log(
    `${'household'.padEnd(11)}${'consent'.padEnd(42)}${'values'.padEnd(8)}${'granularity'.padEnd(13)}windows`,
  );
  const problems = [];
  for (const household of households) {
    const own = coachOf(values, household);
    const granularities = [...new Set(own.map((v) => v.granularity))];
    const windows =
      own.length === 0
        ? household.granularity === 'monthly'
          ? `none yet: the month closes ${monthEnd.toISOString().slice(0, 10)}`
          : 'none'
        : `${own[0].windowStart} … ${own.at(-1).windowEnd}`;
    console.log(
      `${household.name.padEnd(11)}${household.story.padEnd(42)}${String(own.length).padEnd(8)}${(granularities.join(', ') || '-').padEnd(13)}${windows}`,
    );
    const want = household.withdraw ? 0 : expected[household.granularity];
    if (own.length !== want) problems.push(`${household.name}: ${own.length} values, expected ${want}`);
    if (granularities.some((g) => g !== household.granularity))
      problems.push(`${household.name}: released at ${granularities.join(', ')}`);
  }
  console.log('');
  const byKind = new Map();
  for (const v of values) {
    const kind = `${v.recipient === COACH ? 'coach' : v.recipient} ${v.purpose} ${v.granularity}`;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  say(
    `release gate: ${values.length} values out for this tenant in ${((performance.now() - started) / 1000).toFixed(1)} s so far ` +
      `(${[...byKind].map(([kind, n]) => `${kind} ${n}`).join(', ')}); nothing finer than each consent or the policy allows`,
  );
  if (problems.length > 0)
    throw new DemoError(`the release gate let out the wrong values: ${problems.join('; ')}`);
}
