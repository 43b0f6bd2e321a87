import { describe, expect, it } from 'vitest';
import { meterkeepVersion } from '@meterkeep/config';
import { breakGlassActor, runCli } from './enrollment-cli';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, cli: { env: {}, out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe('enrollment admin command line', () => {
  it('answers --version with the release on stdout, without a database', async () => {
    const { out, err, cli } = io();
    expect(await runCli(['--version'], cli)).toBe(0);
    expect(out).toEqual([`enrollment ${meterkeepVersion()}`]);
    expect(err).toEqual([]);
  });

  it('answers a wrong command line with the usage and exit 2, without a database', async () => {
    const { err, cli } = io();
    expect(await runCli(['tenant', 'delete', 'north'], cli)).toBe(2);
    expect(err.join('\n')).toMatch(/unknown command: tenant delete[\s\S]*enrollment --version/);
  });

  it('keeps only the bootstrap of trust: a further key is refused with exit 2, pointing at the REST CLI', async () => {
    const { out, err, cli } = io();
    expect(await runCli(['api-key', 'create', 'north', '--role', 'auditor'], cli)).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toMatch(/meterkeep-admin api-keys create[\s\S]*only for the bootstrap of trust/);
  });

  it('refuses a recovery without a reason, or with a blank one, with exit 2 before touching a database', async () => {
    for (const argv of [
      ['tenant', 'recover', 'north'],
      ['tenant', 'recover', 'north', '--reason', '   '],
      ['tenant', 'recover', 'north', '--reason'],
    ]) {
      const { out, err, cli } = io();
      expect(await runCli(argv, cli)).toBe(2);
      expect(out).toEqual([]);
      expect(err.join('\n')).toMatch(/--reason[\s\S]*tenant recover <tenantId> --reason/);
    }
  });

  it('refuses options that do not belong to the command: --name on recover, --reason on create, --role', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['tenant', 'recover', 'north', '--reason', 'lost', '--name', 'N'],
        /--name: a recovery changes no name/,
      ],
      [['tenant', 'create', 'north', '--reason', 'lost'], /--reason: only for tenant recover/],
      [['tenant', 'recover', 'north', '--reason', 'lost', '--role', 'auditor'], /--role: .*always admin/],
    ];
    for (const [argv, message] of cases) {
      const { out, err, cli } = io();
      expect(await runCli(argv, cli)).toBe(2);
      expect(out).toEqual([]);
      expect(err[0]).toMatch(message);
    }
  });

  it("names the audit actor break-glass:<user>, cut to the audit record's 128 characters", () => {
    expect(breakGlassActor('alice')).toBe('break-glass:alice');
    expect(breakGlassActor('x'.repeat(300))).toHaveLength(128);
  });
});
