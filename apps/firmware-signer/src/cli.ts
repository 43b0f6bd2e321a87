import { asksForVersion, versionLine } from '@meterkeep/config';
import { cosignCommand } from './commands/cosign.command';
import { delegateCommand } from './commands/delegate.command';
import { keygenCommand } from './commands/keygen.command';
import { signCommand } from './commands/sign.command';
import { verifyCommand } from './commands/verify.command';
import type { CliCommand, CliIo } from './io';
import { SignerError } from './signer.errors';

export const COMMANDS: readonly CliCommand[] = [
  keygenCommand,
  signCommand,
  cosignCommand,
  delegateCommand,
  verifyCommand,
];

const HELP_FLAGS = new Set(['-h', '--help', 'help']);

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return (
    'Usage: npm run firmware-signer -- <command> [options]\n\n' +
    "The update authority's offline tool: firmware manifests signed (RFC 8785 JCS, ES256) away from the\n" +
    'cluster, signing keys delegated by the root key, envelopes verified as meters verify them.\n\n' +
    `Commands:\n${lines.join('\n')}\n\n` +
    'Run a command with --help for its options; --version prints the release.\n'
  );
}

/**
 * Dispatches `<command> [options]`. Exit codes: 0 done, 1 refused or failed (one line on stderr,
 * never a stack trace, never key material), 2 the command line is wrong (with the usage).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (asksForVersion(argv)) {
    io.stdout.write(`${versionLine('firmware-signer')}\n`);
    return 0;
  }
  const [name, ...rest] = argv;
  if (name === undefined || HELP_FLAGS.has(name)) {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`firmware-signer: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof SignerError) {
      if (error.code === 'USAGE') {
        io.stderr.write(
          `firmware-signer ${command.name}: ${error.message}\nRun with --help for its options.\n`,
        );
        return 2;
      }
      io.stderr.write(`firmware-signer ${command.name}: ${error.message}\n`);
      return 1;
    }
    // Node's own messages name files and codes, never a key's bytes; the stack stays out.
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`firmware-signer ${command.name}: unexpected error: ${message}\n`);
    return 1;
  }
}
