// The utility's side, through the enrollment service's API: a tenant and its first admin key, the
// manufacturer CA trusted after proof of possession, the batch's enrollment list uploaded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, runCli, say } from './run.mjs';

export async function onboardBatch({ enrollmentUrl, stackEnv, tenantId, factory }) {
  say(`enrollment: creating tenant ${tenantId} and its first admin key (printed once, kept in memory)`);
  const apiKey = runCli('enrollment', ['tenant', 'create', tenantId, '--name', 'Demo Utility'], {
    entry: 'cli',
    env: stackEnv,
  }).trim();

  say('enrollment: registering the manufacturer CA; the factory proves it holds its key');
  const registered = await api(enrollmentUrl, apiKey, 'POST', '/v1/manufacturer-cas', {
    json: { certificatePem: readFileSync(join(factory.ca, 'intermediate.pem'), 'utf8') },
  });
  const proofFile = join(factory.batch, '..', 'ca-proof.pem');
  runCli(
    'factory',
    ['ca', 'prove', '--ca', factory.ca, '--code', registered.verificationCode, '--out', proofFile],
    {
      env: factory.env,
    },
  );
  const trusted = await api(
    enrollmentUrl,
    apiKey,
    'POST',
    `/v1/manufacturer-cas/${registered.caId}/verification`,
    {
      json: { certificatePem: readFileSync(proofFile, 'utf8') },
    },
  );
  say(`enrollment: manufacturer CA ${registered.caId} is ${trusted.status}`);

  say('enrollment: uploading the enrollment list');
  const report = await api(enrollmentUrl, apiKey, 'POST', '/v1/enrollment-lists', {
    body: readFileSync(join(factory.batch, 'enrollment-list.csv')),
    contentType: 'text/csv',
  });
  say(`enrollment: ${report.accepted} accepted, ${report.unchanged} unchanged, ${report.rejected} rejected`);

  return { apiKey, report };
}

/** The fleet comes online: every meter bootstraps over mutual TLS; the registry then shows them ACTIVE. */
export async function bootstrapFleet({ enrollment, factory, count, apiKey }) {
  say(
    `meter-sim: ${count} meters bootstrap over mutual TLS (factory certificate and CSR in, operational certificate out)`,
  );
  const fleet = JSON.parse(
    runCli('meter-sim', [
      'fleet',
      'bootstrap',
      '--state',
      join(factory.batch, '..', 'meters'),
      '--concurrency',
      '32',
      '--json',
    ]),
  );
  say(
    `meter-sim: ${fleet.succeeded} bootstrapped in ${(fleet.elapsedMs / 1000).toFixed(1)} s (${fleet.perSecond}/s, p50 ${fleet.p50Ms} ms, p99 ${fleet.p99Ms} ms), ${fleet.failed} failed`,
  );
  // Enrollment learns of each bootstrap from Kafka; give the events a moment to arrive.
  for (let waited = 0; ; waited += 250) {
    const byState = await registryCounts(enrollment, apiKey);
    if ((byState.ACTIVE ?? 0) >= count || waited >= 30_000) return byState;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function registryCounts(enrollmentUrl, apiKey) {
  const byState = {};
  for (const device of await listDevices(enrollmentUrl, apiKey))
    byState[device.state] = (byState[device.state] ?? 0) + 1;
  return byState;
}

/** The tenant's registry, every page of it. */
export async function listDevices(enrollmentUrl, apiKey) {
  const devices = [];
  for (let cursor; ;) {
    const page = await api(
      enrollmentUrl,
      apiKey,
      'GET',
      `/v1/devices?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    devices.push(...page.items);
    if (!page.nextCursor) return devices;
    cursor = page.nextCursor;
  }
}
