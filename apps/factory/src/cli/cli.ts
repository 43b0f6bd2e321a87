import { asksForVersion, versionLine } from '@meterkeep/config';
import { batchCreateCommand } from '../batch/batch-create.command';
import { batchSignCsrsCommand } from '../batch/batch-sign-csrs.command';
import { batchVerifyCommand } from '../batch/batch-verify.command';
import { caInitCommand } from '../ca/ca-init.command';
import { caProveCommand } from '../ca/ca-prove.command';
import { FactoryError, errorMessage } from '../factory.errors';
import type { CliCommand, CliIo } from './command';

export const COMMANDS: readonly CliCommand[] = [
  caInitCommand,
  caProveCommand,
  batchCreateCommand,
  batchSignCsrsCommand,
  batchVerifyCommand,
];

const HELP_FLAGS = new Set(['-h', '--help', 'help']);

function usage(commands: readonly CliCommand[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const lines = commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`);
  return (
    `Usage: npm run factory -- <command> [options]\n\n` +
    `The OEM line's tool: the manufacturer CA, batches of meter identities, their verification.\n\n` +
    `Commands:\n${lines.join('\n')}\n\n` +
    `Run a command with --help for its options; --version prints the release.\n`
  );
}

/**
 * Dispatches `<group> <command> [options]`. Exit codes: 0 done, 1 refused or failed (one line on
 * stderr, never a stack trace), 2 the command line is wrong (with the usage).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (asksForVersion(argv)) {
    io.stdout.write(`${versionLine('factory')}\n`);
    return 0;
  }
  const [group, name, ...rest] = argv;
  const inGroup = COMMANDS.filter((c) => c.path[0] === group);
  if (group === undefined || HELP_FLAGS.has(group)) {
    (group === undefined ? io.stderr : io.stdout).write(usage());
    return group === undefined ? 2 : 0;
  }
  if (inGroup.length === 0) {
    io.stderr.write(`factory: unknown command ${JSON.stringify(group)}\n\n${usage()}`);
    return 2;
  }
  if (name === undefined || HELP_FLAGS.has(name)) {
    (name === undefined ? io.stderr : io.stdout).write(usage(inGroup));
    return name === undefined ? 2 : 0;
  }
  const command = inGroup.find((c) => c.path[1] === name);
  if (!command) {
    io.stderr.write(`factory: unknown command ${JSON.stringify(`${group} ${name}`)}\n\n${usage(inGroup)}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof FactoryError) {
      if (error.code === 'USAGE') {
        io.stderr.write(
          `factory ${command.path.join(' ')}: ${error.message}\nRun with --help for its options.\n`,
        );
        return 2;
      }
      io.stderr.write(`factory ${command.path.join(' ')}: ${error.message}\n`);
      return error.code === 'INTERRUPTED' ? 130 : 1;
    }
    io.stderr.write(`factory ${command.path.join(' ')}: unexpected error: ${errorMessage(error)}\n`);
    return 1;
  }
}
