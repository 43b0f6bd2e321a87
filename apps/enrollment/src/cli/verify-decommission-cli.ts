import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AuditChainRepository, AuditChainVerifier } from '@meterkeep/audit';
import { ConfigError, loadConfig, postgresEnv } from '@meterkeep/config';
import { createDatabase } from '@meterkeep/db';
import type { EnrollmentDb } from '../core/database';
import {
  type CustodyCheck,
  type CustodyVerdict,
  verifyDecommissionCustody,
} from '../decommissions/decommission-custody';

export const VERIFY_DECOMMISSION_USAGE = `usage:
  enrollment verify-decommission --record <record.json> --public-key <decommission-key.pub.pem>
      [--audit-export <records.json>] [--erasure-certificate <certificate.json> --erasure-public-key <pem>]
      checks a decommission record's chain of custody: its ES256 signature over the RFC 8785 form
      (against the public key given), its digest on the tenant's audit chain as
      device.decommission-recorded right after the chain head it names, that chain's digests and links,
      every step completed or not-applicable, and, when privacy erased, the erasure certificate it names
      (checked against privacy's certificate key when given). The record file is the record or the
      answer of GET /v1/devices/{endpoint}/decommission. The audit records come from --audit-export (a
      JSON array or JSON lines of audit.events.v1 records) or else from enrollment's database, whose
      stored chain is then verified from the record's entry to its head. Exit 0 when every check holds,
      else 1 with the failure code.
environment: DATABASE_URL (enrollment's; read only), unless --audit-export is given`;

export interface VerifyDecommissionIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  /** The PostgreSQL schema; the service's unless a test isolates itself. */
  schema?: string;
}

const VerifyConfig = z.object({ ...postgresEnv });

/** A JSON array, or one JSON value a line (what a raw consumer of audit.events.v1 prints). */
export function parseAuditExport(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown[];
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/** The record itself, or the record inside the operator's view of the decommissioning. */
function recordOf(json: unknown): unknown {
  if (typeof json === 'object' && json !== null && 'recordDigest' in json && 'record' in json)
    return (json as { record: unknown }).record;
  return json;
}

export async function runVerifyDecommission(argv: string[], io: VerifyDecommissionIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        record: { type: 'string' },
        'public-key': { type: 'string' },
        'audit-export': { type: 'string' },
        'erasure-certificate': { type: 'string' },
        'erasure-public-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`enrollment: ${error instanceof Error ? error.message : String(error)}`);
    io.err(VERIFY_DECOMMISSION_USAGE);
    return 2;
  }
  const v = parsed.values;
  if (
    v.help ||
    !v.record ||
    !v['public-key'] ||
    (v['erasure-certificate'] === undefined) !== (v['erasure-public-key'] === undefined)
  ) {
    io.err(VERIFY_DECOMMISSION_USAGE);
    return v.help ? 0 : 2;
  }

  let record: unknown;
  let publicKey;
  let erasureCertificate;
  let exported: unknown[] | undefined;
  try {
    record = recordOf(JSON.parse(await readFile(v.record, 'utf8')));
    publicKey = createPublicKey(await readFile(v['public-key']));
    if (v['erasure-certificate'] && v['erasure-public-key'])
      erasureCertificate = {
        document: JSON.parse(await readFile(v['erasure-certificate'], 'utf8')) as unknown,
        publicKey: createPublicKey(await readFile(v['erasure-public-key'])),
      };
    if (v['audit-export']) exported = parseAuditExport(await readFile(v['audit-export'], 'utf8'));
  } catch (error) {
    io.err(`enrollment: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }

  if (exported)
    return report(
      verifyDecommissionCustody({ record, publicKey, auditRecords: exported, erasureCertificate }),
      io,
    );

  let config;
  try {
    config = loadConfig(VerifyConfig, io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`enrollment: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const head = (record as { audit?: { chainHeadBefore?: { sequence?: unknown } } })?.audit?.chainHeadBefore;
  const tenantId = (record as { tenantId?: unknown })?.tenantId;
  if (typeof head?.sequence !== 'number' || typeof tenantId !== 'string')
    return report(verifyDecommissionCustody({ record, publicKey, auditRecords: [], erasureCertificate }), io);

  const db = createDatabase<EnrollmentDb>({
    url: config.DATABASE_URL,
    schema: io.schema ?? 'enrollment',
    pool: { max: 2 },
  });
  try {
    // The head the record names and the entry after it; the stored chain from there is verified below.
    const chains = new AuditChainRepository();
    const rows = await chains.records(db, tenantId, head.sequence - 1, head.sequence + 1, 2);
    const verdict = verifyDecommissionCustody({
      record,
      publicKey,
      auditRecords: rows.map((r) => r.record),
      erasureCertificate,
    });
    const verifier = new AuditChainVerifier(chains, db);
    let from = head.sequence + 1;
    let stored: CustodyCheck | undefined;
    for (;;) {
      const answer = await verifier.verify(tenantId, { from });
      if (!answer.intact) {
        stored = {
          name: 'audit-chain-stored',
          ok: false,
          detail: `${answer.firstBreak!.reason}: ${answer.firstBreak!.message}`,
          failure: 'AUDIT_CHAIN_BROKEN',
        };
        break;
      }
      if (answer.nextFrom === undefined) {
        stored = {
          name: 'audit-chain-stored',
          ok: true,
          detail: `sequences ${head.sequence + 1}–${answer.head.sequence} link to the stored head`,
        };
        break;
      }
      from = answer.nextFrom;
    }
    return report(withCheck(verdict, stored), io);
  } catch (error) {
    io.err(`enrollment: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await db.destroy();
  }
}

function withCheck(verdict: CustodyVerdict, extra: CustodyCheck): CustodyVerdict {
  const checks = [...verdict.checks, extra];
  const failed = checks.find((c) => !c.ok);
  const { failure: _failure, ...rest } = verdict;
  return { ...rest, ok: !failed, ...(failed && { failure: failed.failure }), checks };
}

/** A line per check, then the verdict: VERIFIED, or FAILED with the first failure's code. */
function report(verdict: CustodyVerdict, io: VerifyDecommissionIo): number {
  for (const c of verdict.checks) io.out(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  if (verdict.ok) {
    io.out(
      `VERIFIED decommission ${verdict.decommissionId} (${verdict.recordDigest}, audit sequence ${verdict.auditSequence})`,
    );
    return 0;
  }
  io.out(`FAILED ${verdict.failure}`);
  return 1;
}
