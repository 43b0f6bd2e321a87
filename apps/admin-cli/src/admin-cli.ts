import { parseArgs } from 'node:util';
import {
  ApiKeyConfigError,
  type ClientOptions,
  MeterkeepApiError,
  MeterkeepTransportError,
  apiKeyFromEnv,
  enrollmentClient,
  otaDistributorClient,
  privacyClient,
} from '@meterkeep/client';
import { asksForVersion, versionLine } from '@meterkeep/config';
import { COMMANDS, type Clients, type Command, type Service, UsageError } from './commands';

const TOOL = 'meterkeep-admin';

/** `devices list [--state <state>] ...`: a command's words, arguments and options. */
function commandLine(c: Command): string {
  const option = (name: string) =>
    c.required?.includes(name) ? `--${name} <${name}>` : `[--${name} <${name}>]`;
  return [c.group, c.verb, ...c.args.map((a) => `<${a}>`), ...(c.options ?? []).map(option)].join(' ');
}

/** Where each service's operator API is. */
export const SERVICE_URL_ENV: Record<Service, string> = {
  enrollment: 'METERKEEP_ENROLLMENT_URL',
  privacy: 'METERKEEP_PRIVACY_URL',
  'ota-distributor': 'METERKEEP_OTA_URL',
};

export const USAGE = `usage: ${TOOL} <group> <verb> [arguments] [--json]
Speaks the services' REST APIs with an API key; every action is the key's role and tenant's, and audited.

${COMMANDS.map((c) => `  ${commandLine(c)}\n      ${c.summary}`).join('\n')}

options: --json prints the service's answer as JSON; --help; --version
environment:
  METERKEEP_API_KEY (or METERKEEP_API_KEY_FILE, a file holding it): an API key, mk_<keyId>_<secret>
  ${Object.values(SERVICE_URL_ENV).join(', ')}: the services' base URLs (only the one a command uses)
  METERKEEP_TIMEOUT_MS: per request (default 30000)
A tenant and its very first admin key are made on enrollment's database (bootstrap of trust, nothing to
authenticate with yet): \`enrollment tenant create <tenantId>\`, and, for a tenant whose admin keys are all
revoked, \`enrollment tenant recover <tenantId> --reason "<text>"\`. Everything else goes through here.
exit codes: 0 done; 1 refused by the service, unreachable, or misconfigured; 2 wrong command line`;

export interface AdminCliIo {
  env: NodeJS.ProcessEnv;
  /** stdout: the answer (or only a new key's secret). */
  out: (line: string) => void;
  /** stderr: everything said to the person. */
  err: (line: string) => void;
  readFile: (path: string) => Promise<string>;
  /** For tests; globalThis.fetch otherwise. */
  fetch?: typeof fetch;
}

/** The environment is missing or wrong: exit 1 with one line. */
class ConfigurationError extends Error {}

const STRING_OPTIONS = [...new Set(COMMANDS.flatMap((c) => c.options ?? []))];

interface Parsed {
  command: Command;
  args: Record<string, string>;
  opts: Record<string, string | undefined>;
  json: boolean;
}

function parse(argv: string[]): Parsed | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(STRING_OPTIONS.map((name) => [name, { type: 'string' as const }])),
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { positionals, values } = parsed;
  if (values.help || positionals.length === 0) return 'help';
  const [group, verb, ...rest] = positionals;
  const command = COMMANDS.find((c) => c.group === group && c.verb === verb);
  if (!command) throw new UsageError(`unknown command: ${[group, verb].filter(Boolean).join(' ')}`);
  if (rest.length !== command.args.length)
    throw new UsageError(
      `${group} ${verb} takes ${command.args.map((a) => `<${a}>`).join(' ') || 'no argument'}`,
    );
  const opts: Record<string, string | undefined> = {};
  for (const name of STRING_OPTIONS) {
    const value = (values as Record<string, string | boolean | undefined>)[name];
    if (value === undefined) continue;
    if (!command.options?.includes(name)) throw new UsageError(`${group} ${verb} does not take --${name}`);
    opts[name] = value as string;
  }
  for (const name of command.required ?? [])
    if (opts[name] === undefined) throw new UsageError(`${group} ${verb} needs --${name}`);
  if (opts.limit !== undefined && !/^[1-9]\d{0,5}$/.test(opts.limit))
    throw new UsageError('--limit must be a positive integer');
  return {
    command,
    args: Object.fromEntries(command.args.map((name, index) => [name, rest[index]!])),
    opts,
    json: values.json === true,
  };
}

async function apiKeyFrom(io: AdminCliIo): Promise<string> {
  try {
    return await apiKeyFromEnv(io.env, io.readFile);
  } catch (error) {
    if (error instanceof ApiKeyConfigError) throw new ConfigurationError(error.message);
    throw error;
  }
}

function clientsFor(io: AdminCliIo, apiKey: string): Clients {
  const options = (service: Service): ClientOptions => {
    const name = SERVICE_URL_ENV[service];
    const baseUrl = io.env[name];
    if (!baseUrl) throw new ConfigurationError(`${name} is not set`);
    const timeout = Number(io.env.METERKEEP_TIMEOUT_MS ?? 30_000);
    return {
      baseUrl,
      apiKey,
      timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 30_000,
      ...(io.fetch && { fetch: io.fetch }),
    };
  };
  const wrap = (service: Service) => {
    try {
      return options(service);
    } catch (error) {
      if (error instanceof TypeError)
        throw new ConfigurationError(`${SERVICE_URL_ENV[service]}: ${error.message}`);
      throw error;
    }
  };
  return {
    get enrollment() {
      return enrollmentClient(wrap('enrollment'));
    },
    get privacy() {
      return privacyClient(wrap('privacy'));
    },
    get ota() {
      return otaDistributorClient(wrap('ota-distributor'));
    },
  };
}

const scalar = (value: unknown) => value === null || ['string', 'number', 'boolean'].includes(typeof value);
const cell = (value: unknown): string =>
  value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);

/** The answer for a person: a table for a page of items, `field: value` lines for one object. */
function printHuman(answer: unknown, io: AdminCliIo): void {
  if (answer === undefined || answer === null) {
    io.err('done');
    return;
  }
  if (typeof answer !== 'object') {
    io.out(cell(answer));
    return;
  }
  const record = answer as Record<string, unknown>;
  if (Array.isArray(record.items)) {
    const items = record.items as Record<string, unknown>[];
    const columns = [...new Set(items.flatMap((item) => Object.keys(item).filter((k) => scalar(item[k]))))];
    if (items.length === 0) io.err('(none)');
    else {
      io.out(columns.join('\t'));
      for (const item of items) io.out(columns.map((c) => cell(item[c])).join('\t'));
    }
    for (const [key, value] of Object.entries(record))
      if (key !== 'items' && value !== null && value !== undefined) io.err(`${key}: ${cell(value)}`);
    return;
  }
  for (const [key, value] of Object.entries(record)) io.out(`${key}: ${cell(value)}`);
}

/** The operators' admin command line over the services' REST APIs. Returns the exit code. */
export async function runAdminCli(argv: string[], io: AdminCliIo): Promise<number> {
  if (asksForVersion(argv)) {
    io.out(versionLine(TOOL));
    return 0;
  }
  let parsed: Parsed | 'help';
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`${TOOL}: ${error.message}`);
    io.err(USAGE);
    return 2;
  }
  if (parsed === 'help') {
    io.err(USAGE);
    return 0;
  }
  const { command, args, opts, json } = parsed;
  try {
    const clients = clientsFor(io, await apiKeyFrom(io));
    const answer = await command.run(clients, {
      args,
      opts,
      readText: (file) => readInput(io, file),
      readJson: async (file) => {
        try {
          return JSON.parse(await readInput(io, file)) as unknown;
        } catch (error) {
          if (error instanceof SyntaxError)
            throw new ConfigurationError(`${file} is not JSON: ${error.message}`);
          throw error;
        }
      },
    });
    if (json) io.out(JSON.stringify(answer ?? null, null, 2));
    else if (command.secretField && answer && typeof answer === 'object' && command.secretField in answer) {
      const { [command.secretField]: secret, ...rest } = answer as Record<string, unknown>;
      for (const [key, value] of Object.entries(rest)) io.err(`${key}: ${cell(value)}`);
      io.err('The key follows on stdout, shown this once: keep it in a secret store now.');
      io.out(cell(secret));
    } else printHuman(answer, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${TOOL}: ${error.message}`);
      return 2;
    }
    if (
      error instanceof MeterkeepApiError ||
      error instanceof MeterkeepTransportError ||
      error instanceof ConfigurationError
    ) {
      io.err(`${TOOL}: ${error.message}`);
      if (json && error instanceof MeterkeepApiError)
        io.out(
          JSON.stringify({
            status: error.status,
            code: error.code,
            message: error.message,
            ...error.problem,
          }),
        );
      return 1;
    }
    throw error;
  }
}

async function readInput(io: AdminCliIo, file: string): Promise<string> {
  try {
    return await io.readFile(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ConfigurationError(`cannot read ${file}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}
