import { describe, expect, it } from 'vitest';
import { meterkeepVersion } from '@meterkeep/config';
import { COMMANDS, runCli } from './cli';
import type { CliIo } from './command';

function io(env: NodeJS.ProcessEnv = {}) {
  const out = { stdout: '', stderr: '' };
  const cli: CliIo = {
    stdout: { write: (t: string) => (out.stdout += t) },
    stderr: { write: (t: string) => (out.stderr += t) },
    env,
    now: () => new Date('2026-01-01T00:00:00Z'),
    signal: new AbortController().signal,
  };
  return { cli, out };
}

describe('factory CLI dispatch', () => {
  it('prints the usage and exits 2 without a command, or with an unknown one', async () => {
    for (const argv of [[], ['frobnicate'], ['batch'], ['batch', 'frobnicate']]) {
      const { cli, out } = io();
      expect(await runCli(argv, cli)).toBe(2);
      expect(out.stderr).toContain('Usage: npm run factory -- <command>');
    }
  });

  it('answers --help on every command and group, on stdout, exit 0', async () => {
    const argvs = [
      ['--help'],
      ['ca', '--help'],
      ['batch', '-h'],
      ...COMMANDS.map((c) => [...c.path, '--help']),
    ];
    for (const argv of argvs) {
      const { cli, out } = io();
      expect(await runCli(argv, cli)).toBe(0);
      expect(out.stdout).toMatch(/Usage: /);
      expect(out.stderr).toBe('');
    }
  });

  it('answers --version with the release, on stdout, exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const { cli, out } = io();
      expect(await runCli([flag], cli)).toBe(0);
      expect(out.stdout).toBe(`factory ${meterkeepVersion()}\n`);
      expect(out.stderr).toBe('');
    }
  });

  it('turns a bad option into one line and exit 2, a refusal into one line and exit 1', async () => {
    const bad = io();
    expect(await runCli(['batch', 'create', '--frob'], bad.cli)).toBe(2);
    expect(bad.out.stderr).toMatch(/^factory batch create: Unknown option '--frob'/);
    const refused = io({});
    expect(await runCli(['ca', 'init', '--out', '/nonexistent/ca'], refused.cli)).toBe(1);
    expect(refused.out.stderr).toBe(
      'factory ca init: METERKEEP_CA_PASSPHRASE is not set: the CA keys are encrypted under it\n',
    );
  });
});
