// A data subject's rights over their readings: an export (subject access and portability) downloaded
// by its presigned link and checked against its signed manifest, and an erasure whose certificate an
// auditor checks with the project's verifier. A plaintext canary, a reading whose value is a 13-digit
// sentinel sent just before the erasure, is then searched for byte by byte where the stack keeps data.
import { createDecipheriv, createHash, createPublicKey, randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, openSync, readFileSync, readSync, closeSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { workspaceRoot } from '../swc-options.mjs';
import { readTenantTopic, topicEnds } from './authorised-consumer.mjs';
import { DemoError, api, runCliStatus, say } from './run.mjs';

const require = createRequire(import.meta.url);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Asks `read` again every `intervalMs` until it answers something, or fails after `timeoutMs`. */
export async function poll(read, { what, timeoutMs = 90_000, intervalMs = 500 }) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const answer = await read();
    if (answer !== undefined) return answer;
    if (performance.now() > deadline) throw new DemoError(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(intervalMs);
  }
}

/** The regular files of a POSIX ustar archive (privacy writes no other kind). */
function untar(tar) {
  const files = [];
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = header.subarray(0, 100).toString('ascii').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
    files.push({ name, bytes: tar.subarray(at + 512, at + 512 + size) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** "MKX1" | IV (12) | GCM tag (16) | ciphertext, the export id as AAD (the Export view says so). */
function openArchive(sealed, key, exportId) {
  if (!sealed.subarray(0, 4).equals(Buffer.from('MKX1'))) throw new DemoError('not a sealed export archive');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(4, 16));
  decipher.setAAD(Buffer.from(exportId, 'utf8'));
  decipher.setAuthTag(sealed.subarray(16, 32));
  return Buffer.concat([decipher.update(sealed.subarray(32)), decipher.final()]);
}

/**
 * The subject of `occupancy` asks for everything the utility holds about them; the demo waits for the
 * archive, downloads it by the presigned link, opens it, checks the manifest's signature and digests,
 * and prints what is in it. Returns the sealed archive's bytes (the S3 server holds them as they are).
 */
export async function subjectExport({ privacyUrl, apiKey, occupancy, certificatePublicKeyFile, movedOut }) {
  const { checkDocumentSignature } = require(join(workspaceRoot, 'dist/libs/firmware/src/index.js'));
  const subject = encodeURIComponent(occupancy.subjectRef);
  const started = performance.now();
  const { exportId } = await api(privacyUrl, apiKey, 'POST', `/v1/subjects/${subject}/exports`, { json: {} });
  const view = await poll(
    async () => {
      const answer = await api(privacyUrl, apiKey, 'GET', `/v1/subjects/${subject}/exports/${exportId}`);
      if (answer.state === 'FAILED') throw new DemoError(`export ${exportId} FAILED: ${answer.error}`);
      return answer.state === 'READY' ? answer : undefined;
    },
    { what: `export ${exportId} READY`, timeoutMs: 60_000 },
  );
  const ready = performance.now() - started;
  const response = await fetch(view.download.url);
  if (!response.ok) throw new DemoError(`the export's presigned link answered ${response.status}`);
  const sealed = Buffer.from(await response.arrayBuffer());
  const files = untar(openArchive(sealed, Buffer.from(view.download.archiveKey, 'base64'), exportId));
  const byName = new Map(files.map((f) => [f.name, f.bytes]));
  const manifest = JSON.parse(byName.get('manifest.json')?.toString('utf8') ?? 'null');
  if (!manifest) throw new DemoError('the export archive has no manifest.json');
  const signature = checkDocumentSignature(manifest, createPublicKey(readFileSync(certificatePublicKeyFile)));
  const digestsMatch = manifest.files.every(
    (f) => byName.has(f.name) && createHash('sha256').update(byName.get(f.name)).digest('hex') === f.sha256,
  );
  const json = (name) => JSON.parse(byName.get(name).toString('utf8'));
  const perOccupancy = json('readings.json');
  say(
    `privacy: export ${exportId} of ${occupancy.subjectRef} READY in ${(ready / 1000).toFixed(1)} s; ` +
      `${sealed.length}-byte sealed archive downloaded by its presigned link and opened with its one-time key`,
  );
  console.log('');
  console.log(`the archive (${files.length} files)`);
  for (const file of files)
    console.log(`  ${file.name.padEnd(18)}${String(file.bytes.length).padStart(8)} bytes`);
  console.log(`readings per occupancy`);
  const problems = [];
  for (const period of perOccupancy) {
    const times = period.readings.map((r) => Date.parse(r.intervalStart));
    const to = period.validTo ? Date.parse(period.validTo) : Infinity;
    const outside = times.filter((t) => t < Date.parse(period.validFrom) || t >= to).length;
    if (outside > 0) problems.push(`${outside} readings of ${period.occupancyId} outside its period`);
    const span = times.length
      ? `${new Date(Math.min(...times)).toISOString()} … ${new Date(Math.max(...times)).toISOString()}`
      : '-';
    console.log(
      `  ${period.occupancyId}  ${period.meterId}  ${period.validFrom} … ${period.validTo ?? 'open'}: ` +
        `${period.readings.length} readings (${span}), ${outside} outside the period`,
    );
  }
  console.log(
    `consents ${json('consents.json').length}, releases ${json('releases.json').length}, ` +
      `manifest signature ${signature.ok ? 'OK (ES256, privacy certificate key)' : `BAD: ${signature.reason}`}, ` +
      `file digests ${digestsMatch ? 'OK' : 'DIFFER'}`,
  );
  console.log('');
  if (movedOut)
    say(
      `privacy: the export goes by reading time: nothing from ${movedOut.toISOString()} on, though the old key's ` +
        `original records still hold those readings`,
    );
  if (!signature.ok || !digestsMatch) throw new DemoError("the export's manifest does not check");
  if (problems.length > 0) throw new DemoError(`the export leaks: ${problems.join('; ')}`);
  return { sealed };
}

/** One batch over mutual TLS as the meter itself (its operational key and certificate from its state). */
function postAsMeter({ port, caPem, statesDir, meterId, body }) {
  const operational = JSON.parse(readFileSync(join(statesDir, meterId, 'operational.json'), 'utf8'));
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        path: '/tl/v1/batches',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        key: operational.privateKeyPem,
        cert: operational.certificatePem,
        ca: caPem,
        agent: false,
      },
      (incoming) => {
        const chunks = [];
        incoming.on('data', (chunk) => chunks.push(chunk));
        incoming.on('end', () =>
          resolve({ status: incoming.statusCode, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    outgoing.once('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

/** Files under `dir` holding each needle (chunks overlap by a needle's length), and how many were read. */
function searchDir(dir, needles) {
  const hits = needles.map(() => []);
  const longest = Math.max(...needles.map((n) => n.length));
  const buffer = Buffer.alloc((1 << 20) + longest);
  let files = 0;
  const walk = (path) => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return; // gone meanwhile (PostgreSQL drops tests' schemas, Kafka rolls segments)
    }
    if (stat.isDirectory()) {
      let entries = [];
      try {
        entries = readdirSync(path);
      } catch {
        return;
      }
      for (const entry of entries) walk(join(path, entry));
      return;
    }
    if (!stat.isFile()) return;
    let fd;
    try {
      fd = openSync(path, 'r');
    } catch {
      return;
    }
    files += 1;
    try {
      const found = needles.map(() => false);
      let carried = 0;
      let position = 0;
      for (;;) {
        const read = readSync(fd, buffer, carried, 1 << 20, position);
        if (read === 0) break;
        position += read;
        const filled = carried + read;
        const window = buffer.subarray(0, filled);
        needles.forEach((needle, i) => (found[i] ||= window.includes(needle)));
        carried = Math.min(longest - 1, filled);
        buffer.copy(buffer, 0, filled - carried, filled);
      }
      found.forEach((f, i) => f && hits[i].push(path));
    } finally {
      closeSync(fd);
    }
  };
  walk(dir);
  return { hits, files };
}

/**
 * Where PostgreSQL keeps the stack's database: its own directory under base/ and the WAL (other
 * databases on the cluster are not this stack's). METERKEEP_PG_DATA_DIR names the data directory
 * outright; else the cluster is asked as its OS user (the stack's role may not read the setting).
 */
function postgresDirs(database) {
  const ask = (query) =>
    execFileSync('su', ['postgres', '-c', `psql -Atc "${query}"`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const dataDir = process.env.METERKEEP_PG_DATA_DIR || ask('show data_directory');
    if (!/^[a-z0-9_]+$/.test(database)) return [dataDir];
    const oid = ask(`select oid from pg_database where datname = '${database}'`);
    return oid ? [join(dataDir, 'base', oid), join(dataDir, 'pg_wal')] : [dataDir];
  } catch {
    return process.env.METERKEEP_PG_DATA_DIR ? [process.env.METERKEEP_PG_DATA_DIR] : undefined;
  }
}

/**
 * The subject of `occupancy` is erased. First its meter sends a canary reading (a fresh 13-digit
 * value); then the erasure runs to CERTIFIED, the certificate is printed (abbreviated) and checked by
 * `privacy verify-erasure --erasure-id` (which fetches it from privacy itself and checks it against the
 * public key the demo made, never one the service sends), and the canary is searched for in Kafka's log segments,
 * PostgreSQL's data directory, the S3 server's data directory and the services' logs, each with a
 * control text that is there in the clear (so an unread place cannot pass as clean).
 */
export async function eraseSubject({
  privacyUrl,
  apiKey,
  kafka,
  tenantId,
  occupancy,
  from,
  telemetryPort,
  caPem,
  statesDir,
  dir,
  certificatePublicKeyFile,
  verifierEnv,
  places,
  s3Control,
}) {
  const sentinel = String(1_000_000_000_000 + randomInt(8_999_999_999_999));
  const since = await topicEnds(kafka, 'telemetry.readings.v1');
  const sent = await postAsMeter({
    port: telemetryPort,
    caPem,
    statesDir,
    meterId: occupancy.meterId,
    body: {
      // The batch id travels in the clear: never the sentinel in it.
      batchId: `canary-${Date.now().toString(36)}`,
      readings: [
        {
          obis: '1-0:1.29.0*255',
          intervalStart: from.toISOString().replace('.000Z', 'Z'),
          intervalMinutes: 1,
          value: Number(sentinel),
          scaler: 0,
          unit: 'Wh',
        },
      ],
    },
  });
  if (sent.status !== 200 || !sent.text.includes('"accepted":1'))
    throw new DemoError(`the canary reading was answered ${sent.status}: ${sent.text}`);
  const sealed = await readTenantTopic({
    connection: kafka,
    topic: 'telemetry.readings.v1',
    tenantId,
    since,
    enough: (records) => records.some((r) => r.value.includes(occupancy.meterId)),
  });
  if (!sealed.some((r) => r.value.includes(occupancy.meterId)))
    throw new DemoError('the canary reading did not reach telemetry.readings.v1');
  say(
    `meter-sim: ${occupancy.meterId} sends a canary reading, value ${sentinel}; sealed at ingest under its occupant's key`,
  );

  const subject = encodeURIComponent(occupancy.subjectRef);
  const started = performance.now();
  const { erasureId } = await api(privacyUrl, apiKey, 'POST', `/v1/subjects/${subject}/erasures`, {
    json: {},
  });
  await poll(
    async () => {
      const view = await api(privacyUrl, apiKey, 'GET', `/v1/subjects/${subject}/erasures/${erasureId}`);
      if (view.state === 'FAILED') throw new DemoError(`erasure ${erasureId} FAILED`);
      return view.state === 'CERTIFIED' ? view : undefined;
    },
    { what: `erasure ${erasureId} CERTIFIED` },
  );
  const certified = performance.now() - started;
  const certificate = await api(
    privacyUrl,
    apiKey,
    'GET',
    `/v1/subjects/${subject}/erasures/${erasureId}/certificate`,
  );
  say(
    `privacy: erasure of ${occupancy.subjectRef} REQUESTED → CERTIFIED in ${(certified / 1000).toFixed(1)} s; its certificate, abbreviated:`,
  );
  printCertificate(certificate);

  const certificateFile = join(dir, `erasure-${erasureId}.json`);
  writeFileSync(certificateFile, JSON.stringify(certificate, null, 2));
  const verifier = runCliStatus(
    'privacy',
    [
      'verify-erasure',
      '--erasure-id',
      erasureId,
      '--subject',
      occupancy.subjectRef,
      '--public-key',
      certificatePublicKeyFile,
    ],
    {
      entry: 'cli',
      env: { ...verifierEnv, METERKEEP_PRIVACY_URL: privacyUrl, METERKEEP_API_KEY: apiKey },
    },
  );
  let report;
  try {
    report = JSON.parse(verifier.stdout);
  } catch {
    throw new DemoError(`privacy verify-erasure failed (exit ${verifier.status}) without a report`);
  }
  say(
    `auditor: npm run privacy:verify-erasure -- --erasure-id ${erasureId} --subject ${occupancy.subjectRef} --public-key …`,
  );
  for (const check of report.checks) say(`  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
  if (verifier.status !== 0 || !report.ok)
    throw new DemoError(`the verifier refused the certificate (exit ${verifier.status})`);

  const searched = performance.now();
  const needle = Buffer.from(sentinel, 'latin1');
  const lines = [];
  const problems = [];
  for (const place of places) {
    if (!place.dirs) {
      lines.push(`${place.name}: not searched (${place.why})`);
      continue;
    }
    const control = place.control === 's3' ? s3Control : Buffer.from(place.control, 'latin1');
    const found = [...place.dirs].map((dir) => searchDir(dir, [needle, control]));
    const files = found.reduce((n, f) => n + f.files, 0);
    const hits = [0, 1].map((i) => found.flatMap((f) => f.hits[i]));
    lines.push(
      `${place.name}: ${files} files, canary ${hits[0].length}, control ${hits[1].length > 0 ? 'found' : 'NOT found'}`,
    );
    if (hits[0].length > 0)
      problems.push(`${place.name} holds the canary in ${hits[0].slice(0, 3).join(', ')}`);
    if (files === 0 || hits[1].length === 0) problems.push(`${place.name}: the control was not found`);
  }
  say(
    `canary ${sentinel}: found nowhere in the clear after the erasure (searched in ${((performance.now() - searched) / 1000).toFixed(1)} s)`,
  );
  for (const line of lines) say(`  ${line}`);
  if (problems.length > 0) throw new DemoError(`canary search: ${problems.join('; ')}`);
  return { certificate, certificateFile, erasureId };
}

/** The certificate's gist: who, what was destroyed, what was counted, who confirmed, the signature. */
export function printCertificate(certificate) {
  const c = certificate;
  const kafka = (c.dataInventory?.kafka ?? []).reduce((n, k) => n + (k.recordsUnderDestroyedKeys ?? 0), 0);
  console.log('');
  console.log(`  certificateId      ${c.certificateId} (v${c.certificateVersion}), tenant ${c.tenantId}`);
  console.log(`  subjectRef         ${c.subjectRef}`);
  console.log(
    `  requested → keys destroyed → certified  ${c.requestedAt} → ${c.keysDestroyedAt} → ${c.certifiedAt}`,
  );
  console.log(`  method             ${c.method}`);
  console.log(
    `  scope              ${c.scope.occupancies.map((o) => `${o.occupancyId} on ${o.meterId} ${o.validFrom} … ${o.validTo ?? 'open'}`).join('; ')}`,
  );
  console.log(
    `  keysDestroyed      ${c.keysDestroyed.map((k) => `${k.keyId} (${k.kind}, ${k.wrappedKeyCommitment.slice(0, 19)}…)`).join(', ')}`,
  );
  console.log(`  Kafka inventory    ${kafka} record(s) under destroyed keys`);
  console.log(`  confirmations      ${c.confirmations.map((x) => `${x.service} ${x.outcome}`).join(', ')}`);
  console.log(`  residualCopies     ${c.residualCopies.map((r) => r.where).join('; ')}`);
  console.log(`  verification       ${JSON.stringify(c.verification)}`);
  console.log(
    `  signature          ${c.signature?.alg} key ${c.signature?.keyId} ${String(c.signature?.value).slice(0, 16)}…`,
  );
  console.log('');
}

/** Where the canary is searched for, with a control text each place holds in the clear. */
export function canaryPlaces({ settings, logDir, tenantId, meterId }) {
  return [
    { name: 'Kafka log segments', dirs: [settings.kafka.data], control: `${tenantId}/${meterId}` },
    {
      name: "PostgreSQL (the stack's database and the WAL)",
      dirs: postgresDirs(settings.postgres.database),
      control: meterId,
      why: 'set METERKEEP_PG_DATA_DIR, or let the demo ask the cluster as the postgres user',
    },
    // The export archive the demo downloaded is stored there as it was sealed.
    { name: 'S3 server data directory', dirs: [settings.s3.data], control: 's3' },
    { name: 'service logs', dirs: [logDir], control: meterId },
  ];
}
