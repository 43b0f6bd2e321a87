import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AuditChainRepository } from '@meterkeep/audit';
import { ConfigError, asksForVersion, loadConfig, postgresEnv, versionLine } from '@meterkeep/config';
import { createDatabase, runMigrations } from '@meterkeep/db';
import { DomainError } from '@meterkeep/service-runtime';
import { AuditLog } from '../audit/audit-log';
import { ApiKeysRepository } from '../auth/api-keys.repository';
import type { EnrollmentDb } from '../core/database';
import { migrations } from '../migrations';
import { OutboxRepository } from '../outbox/outbox.repository';
import { Transactions } from '../outbox/transactions';
import { CreateTenantUseCase } from '../tenants/create-tenant.use-case';
import { BREAK_GLASS_ACTOR_PREFIX, RecoverTenantUseCase } from '../tenants/recover-tenant.use-case';
import { TenantsRepository } from '../tenants/tenants.repository';

export const CLI_ACTOR = 'cli';

const USAGE = `usage:
  enrollment tenant create <tenantId> [--name <name>]
      creates the tenant and its first admin API key, printed once on stdout
  enrollment tenant recover <tenantId> --reason "<text>"
      break-glass, when every admin key of the tenant is revoked or lost: mints one new admin API key,
      printed once on stdout, audited on the tenant's chain as break-glass:<os user> with the reason
  enrollment --version
      the release
environment: DATABASE_URL (the service's; migrations are applied first)
This command writes to enrollment's database and exists only for the bootstrap of trust: a new tenant has
no key to authenticate with yet, nor has a tenant whose admin keys are all gone. Everything else (further API keys, revocations, CAs, enrollment lists,
devices, occupancies, firmware) goes through the services' REST APIs with an API key: meterkeep-admin
(apps/admin-cli, \`npm run admin -- --help\`).`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  /** stdout: the API key and nothing else. */
  out: (line: string) => void;
  /** stderr: everything said to the person. */
  err: (line: string) => void;
  /** The PostgreSQL schema; the service's unless a test isolates itself. */
  schema?: string;
  /** Who runs the command, for the audit actor; the OS user unless a test says otherwise. */
  user?: string;
}

type Command =
  | { kind: 'tenant-create'; tenantId: string; name?: string }
  | { kind: 'tenant-recover'; tenantId: string; reason: string };

function parseCommand(argv: string[]): Command | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      // --role is read only to point `api-key create` at the REST CLI.
      options: {
        name: { type: 'string' },
        reason: { type: 'string' },
        role: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const { positionals, values } = parsed;
  if (values.help) return '';
  const [group, verb, tenantId, ...extra] = positionals;
  if (!group) return 'missing command';
  if (group === 'api-key')
    return 'further API keys are made over REST with an admin key: meterkeep-admin api-keys create';
  if (!tenantId || extra.length > 0) return 'expected exactly one <tenantId>';
  if (values.role !== undefined) return '--role: the key made here is always admin';
  if (group === 'tenant' && verb === 'recover') {
    if (values.name !== undefined) return '--name: a recovery changes no name';
    if (values.reason === undefined || values.reason.trim() === '')
      return 'tenant recover needs --reason "<why, who asked, the ticket>"';
    return { kind: 'tenant-recover', tenantId, reason: values.reason };
  }
  if (values.reason !== undefined) return '--reason: only for tenant recover';
  if (group === 'tenant' && verb === 'create')
    return { kind: 'tenant-create', tenantId, ...(values.name !== undefined && { name: values.name }) };
  return `unknown command: ${[group, verb].filter(Boolean).join(' ') || '(none)'}`;
}

/** The bootstrap of trust: a tenant and its first admin key, straight on the database. Returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (asksForVersion(argv)) {
    io.out(versionLine('enrollment'));
    return 0;
  }
  const command = parseCommand(argv);
  if (typeof command === 'string') {
    if (command) io.err(`enrollment: ${command}`);
    io.err(USAGE);
    return command ? 2 : 0;
  }
  let config;
  try {
    config = loadConfig(z.object(postgresEnv), io.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`enrollment: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const schema = io.schema ?? 'enrollment';
  const db = createDatabase<EnrollmentDb>({ url: config.DATABASE_URL, schema, pool: { max: 2 } });
  try {
    await runMigrations(db, { schema, migrations });
    // The audit records go to the outbox; the running service publishes them.
    const transactions = new Transactions(db, { nudge: () => undefined });
    const outbox = new OutboxRepository();
    const audit = new AuditLog<EnrollmentDb>(new AuditChainRepository(), outbox);
    const keys = new ApiKeysRepository(db);
    const tenants = new TenantsRepository(db);
    if (command.kind === 'tenant-recover') {
      const actor = breakGlassActor(io.user ?? osUser());
      const recovered = await new RecoverTenantUseCase(tenants, keys, audit, transactions).execute({
        tenantId: command.tenantId,
        reason: command.reason,
        actor,
      });
      io.err(
        `tenant ${recovered.tenantId} recovered by ${actor}; its new admin API key (key id ${recovered.adminKeyId}) follows.`,
      );
      io.err('It is shown this once and only its hash is stored: keep it in a secret store now.');
      io.out(recovered.adminApiKey);
      return 0;
    }
    const created = await new CreateTenantUseCase(tenants, keys, audit, transactions).execute({
      tenantId: command.tenantId,
      ...(command.name !== undefined && { name: command.name }),
      actor: CLI_ACTOR,
    });
    io.err(
      `tenant ${created.tenantId} created; its first admin API key (key id ${created.adminKeyId}) follows.`,
    );
    io.err('It is shown this once and only its hash is stored: keep it in a secret store now.');
    io.out(created.adminApiKey);
    return 0;
  } catch (error) {
    if (error instanceof DomainError) {
      io.err(`enrollment: ${error.code}: ${error.message}`);
      return 1;
    }
    io.err(`enrollment: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await db.destroy();
  }
}

/** The OS account running the command; its uid when the account has no name (a container's). */
function osUser(): string {
  try {
    return userInfo().username || `uid-${process.getuid?.() ?? 'unknown'}`;
  } catch {
    return `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

/** `break-glass:<user>`, cut to the audit record's 128-character actor. */
export function breakGlassActor(user: string): string {
  return `${BREAK_GLASS_ACTOR_PREFIX}${user}`.slice(0, 128);
}
