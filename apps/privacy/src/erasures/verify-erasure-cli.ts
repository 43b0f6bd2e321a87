import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  TELEMETRY_READINGS,
  TELEMETRY_RELEASED,
  type TelemetryReadingEvent,
  deadLetterTopicName,
} from '@meterkeep/contracts';
import { type KafkaClient, readKeyedRecords } from '@meterkeep/kafka';
import { openReadings } from '@meterkeep/reading-seal';
import { type OperatorIo, CliKafkaConfig, type UsageExit, startCommand, withResources } from '../cli/command';
import {
  type ErasureCertificate,
  checkAuditSegment,
  checkCertificateSignature,
  erasureCertificateSchema,
} from './erasure-certificate';
import {
  CertificateFetchError,
  type CertificateSource,
  MAX_CERTIFICATE_BYTES,
  fetchCertificate,
} from './fetch-certificate';
import { checkMeterRecords, parseJson } from './readings-inventory';

export const VERIFY_USAGE = `usage:
  privacy verify-erasure <certificate.json> --public-key <certificate-key.pub.pem>
  privacy verify-erasure --certificate-file <certificate.json> --public-key <certificate-key.pub.pem>
  privacy verify-erasure --erasure-id <er-…> --subject <subjectRef> --public-key <certificate-key.pub.pem>
      checks an erasure certificate, from a file or fetched from privacy's API by erasure id (answers
      over ${MAX_CERTIFICATE_BYTES} bytes refused; one that is not the erasure asked for, or whose
      signature fails, is refused before anything else is read): its ES256 signature over the RFC 8785
      form (against the public key given, never one the certificate or the service sends), its audit
      chain segment, the vault (every key it names destroyed, with the committed
      bytes), and raw Kafka: every record of the subject's meters in telemetry.readings.v1 and its
      dead-letter topic whose reading time falls in an erased period carries a destroyed key, and no
      live key of the meter opens a record under a destroyed key. JSON report on stdout; exit 0 only
      when every check holds.
environment: DATABASE_URL, S3_*, PRIVACY_KEK, KAFKA_* (a principal that may read those topics);
  to fetch: METERKEEP_PRIVACY_URL, METERKEEP_API_KEY (or METERKEEP_API_KEY_FILE, a file holding it; any
  role of the erasure's tenant), METERKEEP_TIMEOUT_MS (default 30000); TLS is verified against Node's
  trust store (NODE_EXTRA_CA_CERTS for a private CA)`;

export interface VerifyIo extends OperatorIo {
  /** For tests; globalThis.fetch otherwise. */
  fetch?: typeof fetch;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Reading times a sealed record covers: each reading's interval, each event's instant. */
function intervalsOf(event: TelemetryReadingEvent, key: Buffer): [number, number][] {
  const sealed = openReadings(event, key);
  return [
    ...sealed.readings.map((r): [number, number] => {
      const start = Date.parse(r.intervalStart);
      return [start, start + r.intervalMinutes * 60_000];
    }),
    ...sealed.events.map((e): [number, number] => {
      const at = Date.parse(e.occurredAt);
      return [at, at + 1];
    }),
  ];
}

const intersects = ([a, b]: [number, number], [from, to]: [number, number]) => a < to && from < b;

type CertificateFrom = { file: string } | CertificateSource;

/**
 * The certificate comes as the one positional argument, as --certificate-file (the same file, named
 * where a script's arguments are easier to read), or fetched by --erasure-id with its --subject (the
 * route is the subject's); more than one of these, or none, is a usage error (exit 2).
 */
export function parseVerifyArgs(
  argv: string[],
): { from: CertificateFrom; publicKeyFile: string } | UsageExit {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'certificate-file': { type: 'string' },
        'erasure-id': { type: 'string' },
        subject: { type: 'string' },
        'public-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return { exit: 2, error: error instanceof Error ? error.message : String(error) };
  }
  const { values } = parsed;
  if (values.help) return { exit: 0 };
  const [positional, ...extra] = parsed.positionals;
  const flagged = values['certificate-file'];
  const publicKeyFile = values['public-key'];
  const erasureId = values['erasure-id'];
  const fetching = erasureId !== undefined || values.subject !== undefined;
  if ([positional, flagged, fetching || undefined].filter((v) => v !== undefined).length > 1)
    return {
      exit: 2,
      error: 'give the certificate once: as an argument, as --certificate-file or as --erasure-id',
    };
  if (extra.length > 0 || !publicKeyFile) return { exit: 2 };
  if (fetching) {
    if (!erasureId || !values.subject)
      return { exit: 2, error: "--erasure-id and --subject go together: the route is the subject's" };
    return { from: { erasureId, subjectRef: values.subject }, publicKeyFile };
  }
  const certificateFile = flagged ?? positional;
  if (!certificateFile) return { exit: 2 };
  return { from: { file: certificateFile }, publicKeyFile };
}

export async function runVerifyErasure(argv: string[], io: VerifyIo): Promise<number> {
  const start = startCommand(io, VERIFY_USAGE, parseVerifyArgs(argv), CliKafkaConfig);
  if (typeof start === 'number') return start;
  const { from, publicKeyFile } = start.args;
  const { config } = start;
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const refuse = () => {
    io.out(JSON.stringify({ ok: false, checks }, null, 2));
    return 1;
  };

  let document: unknown;
  try {
    document =
      'file' in from
        ? JSON.parse(await readFile(from.file, 'utf8'))
        : await fetchCertificate(from, io.env, { readFile: readApiKeyFile, fetch: io.fetch });
  } catch (error) {
    if (error instanceof CertificateFetchError) io.err(`privacy: ${error.message}`);
    else
      io.err(
        `privacy: cannot read ${'file' in from ? from.file : from.erasureId}: ${error instanceof Error ? error.message : String(error)}`,
      );
    return 1;
  }
  const result = erasureCertificateSchema.safeParse(document);
  if (!result.success) {
    check('format', false, result.error.message);
    return refuse();
  }
  const certificate: ErasureCertificate = result.data;
  const publicKey = createPublicKey(await readFile(publicKeyFile));
  const signature = checkCertificateSignature(certificate, publicKey);
  check(
    'signature',
    signature.ok,
    signature.ok ? `ES256, key ${certificate.signature?.keyId}` : signature.reason,
  );
  if (!('file' in from)) {
    // A fetched certificate is the service's word: another erasure's, however well signed, is refused,
    // and nothing unsigned steers the reads below.
    const asked = certificate.requestId === from.erasureId && certificate.subjectRef === from.subjectRef;
    check(
      'erasure',
      asked,
      asked
        ? `${from.erasureId} of ${from.subjectRef}`
        : `asked for ${from.erasureId} of ${from.subjectRef}, answered ${certificate.requestId} of ${certificate.subjectRef}`,
    );
    if (!asked || !signature.ok) return refuse();
  }
  const segment = checkAuditSegment(certificate);
  check(
    'audit-chain-segment',
    segment.ok,
    segment.ok ? `sequences ${certificate.audit.sequences.join(',')}` : segment.reason,
  );

  // Only a certificate worth checking further opens the vault and Kafka.
  const needs = { pool: 2, migrate: false, kafka: 'privacy-verify-erasure' };
  return withResources(io, config, needs, async ({ db, ring, kafka }) => {
    const tenantId = certificate.tenantId;
    // The vault: every key named is destroyed, and its commitment is what the vault kept.
    const named = certificate.keysDestroyed.map((k) => k.keyId);
    const keyColumns = ['key_id', 'wrapped_key', 'destroyed_at', 'wrapped_key_sha256'] as const;
    // Data keys (readings, retention) and the release gate's purpose keys are in two tables.
    const rows =
      named.length === 0
        ? []
        : [
            ...(await db
              .selectFrom('data_keys')
              .select(keyColumns)
              .where('tenant_id', '=', tenantId)
              .where('key_id', 'in', named)
              .execute()),
            ...(await db
              .selectFrom('release_keys')
              .select(keyColumns)
              .where('tenant_id', '=', tenantId)
              .where('key_id', 'in', named)
              .execute()),
          ];
    const vaultProblems: string[] = [];
    for (const key of certificate.keysDestroyed) {
      const row = rows.find((r) => r.key_id === key.keyId);
      if (!row) vaultProblems.push(`${key.keyId}: not in the vault`);
      else if (row.wrapped_key !== null || row.destroyed_at === null)
        vaultProblems.push(`${key.keyId}: LIVE`);
      else if (
        row.wrapped_key_sha256 &&
        `sha256:${row.wrapped_key_sha256.toString('hex')}` !== key.wrappedKeyCommitment
      )
        vaultProblems.push(`${key.keyId}: commitment differs from the vault's`);
    }
    check(
      'vault',
      vaultProblems.length === 0,
      vaultProblems.length === 0 ? `${named.length} key(s): KEY_DESTROYED` : vaultProblems.join('; '),
    );

    // Raw Kafka, per meter in scope.
    const destroyedIds = new Set(named);
    let recordsUnderDestroyed = 0;
    let decryptFailures = 0;
    const kafkaProblems: string[] = [];
    const topics = [TELEMETRY_READINGS.name, deadLetterTopicName(TELEMETRY_READINGS.name)];
    const existing = new Set(await listTopics(kafka));
    for (const meterId of [...new Set(certificate.scope.occupancies.map((o) => o.meterId))]) {
      const periods = certificate.scope.occupancies
        .filter((o) => o.meterId === meterId)
        .map((o): [number, number] => [
          Date.parse(o.validFrom),
          o.validTo ? Date.parse(o.validTo) : Infinity,
        ]);
      const live = await db
        .selectFrom('data_keys')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('meter_id', '=', meterId)
        .where('wrapped_key', 'is not', null)
        .execute();
      const liveKeys = await Promise.all(
        live.map(async (row) => ({
          keyId: row.key_id,
          key: await ring.unwrap(
            { wrappedKey: row.wrapped_key!, kekEpoch: row.kek_epoch },
            { tenantId, meterId, keyId: row.key_id },
          ),
        })),
      );
      for (const topic of topics) {
        if (!existing.has(topic)) continue;
        const result = await checkMeterRecords(
          kafka,
          tenantId,
          meterId,
          destroyedIds,
          liveKeys,
          'privacy-verify',
          topic,
          (event, offset) => {
            if (destroyedIds.has(event.keyId)) return;
            const liveKey = liveKeys.find((k) => k.keyId === event.keyId);
            if (!liveKey) return; // another period's key, destroyed too (another erasure)
            let times: [number, number][];
            try {
              times = intervalsOf(event, liveKey.key);
            } catch {
              kafkaProblems.push(`${topic}@${offset}: does not open with its own live key ${event.keyId}`);
              return;
            }
            if (times.some((t) => periods.some((p) => intersects(t, p))))
              kafkaProblems.push(
                `${topic}@${offset}: readings in an erased period under the live key ${event.keyId}`,
              );
          },
        );
        recordsUnderDestroyed += result.inventory.recordsUnderDestroyedKeys;
        decryptFailures += result.decryptFailures;
        for (const opened of result.openedByLiveKey)
          kafkaProblems.push(
            `${topic}@${opened.offset}: erased key ${opened.keyId} opens with live key ${opened.liveKeyId}`,
          );
      }
    }
    // Released values (telemetry.released.v1, keyed by occupancy): each erased occupancy's are all
    // sealed under a release key the certificate names destroyed.
    let releasedUnderDestroyed = 0;
    if (existing.has(TELEMETRY_RELEASED.name)) {
      for (const { occupancyId } of certificate.scope.occupancies) {
        await readKeyedRecords(
          kafka,
          TELEMETRY_RELEASED.name,
          `${tenantId}/${occupancyId}`,
          ({ value, offset }) => {
            const parsed = TELEMETRY_RELEASED.schema.safeParse(parseJson(value));
            if (!parsed.success || parsed.data.occupancyId !== occupancyId) return;
            if (destroyedIds.has(parsed.data.keyId)) releasedUnderDestroyed += 1;
            else
              kafkaProblems.push(
                `${TELEMETRY_RELEASED.name}@${offset}: a released value of ${occupancyId} under the live key ${parsed.data.keyId}`,
              );
          },
          { groupPrefix: 'privacy-verify' },
        );
      }
    }
    check(
      'kafka',
      kafkaProblems.length === 0,
      kafkaProblems.length === 0
        ? `${recordsUnderDestroyed} record(s) under destroyed keys, ${decryptFailures} opened by no live key; no erased-period reading under a live key; ${releasedUnderDestroyed} released value(s), all under destroyed release keys`
        : kafkaProblems.slice(0, 20).join('; '),
    );
    const ok = checks.every((c) => c.ok);
    io.out(
      JSON.stringify(
        {
          ok,
          certificateId: certificate.certificateId,
          recordsUnderDestroyedKeys: recordsUnderDestroyed,
          checks,
        },
        null,
        2,
      ),
    );
    return ok ? 0 : 1;
  });
}

/** The API key file is the operator's own; a key is ~60 bytes, so anything past 4 KiB is not one. */
async function readApiKeyFile(path: string): Promise<string> {
  const text = await readFile(path, 'utf8');
  if (text.length > 4096) throw new CertificateFetchError(`${path} is too large to be an API key file`);
  return text;
}

async function listTopics(kafka: KafkaClient): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}
