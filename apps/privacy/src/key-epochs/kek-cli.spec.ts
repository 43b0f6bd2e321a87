import { describe, expect, it } from 'vitest';
import { meterkeepVersion } from '@meterkeep/config';
import { runCli } from './kek-cli';

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, cli: { env, out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe('privacy admin command line (KEK epochs)', () => {
  it('answers --version with the release on stdout, without a database', async () => {
    const { out, cli } = io();
    expect(await runCli(['--version'], cli)).toBe(0);
    expect(out).toEqual([`privacy ${meterkeepVersion()}`]);
  });

  it('answers a wrong command line with the usage and exit 2, without a database', async () => {
    const { err, cli } = io();
    expect(await runCli(['kek', 'destroy', '3'], cli)).toBe(2);
    expect(err.join('\n')).toMatch(/unknown command: kek destroy 3[\s\S]*privacy kek rotate/);
    expect(await runCli(['kek', 'status', '--force'], io().cli)).toBe(2);
  });

  it('refuses to start without its settings, naming the variable and never echoing a secret', async () => {
    const { err, cli } = io({ DATABASE_URL: 'postgres://x@127.0.0.1:1/x', PRIVACY_KEK: 'not-a-key' });
    expect(await runCli(['kek', 'status'], cli)).toBe(1);
    expect(err.join('\n')).toMatch(/PRIVACY_KEK|S3_ACCESS_KEY_ID/);
    expect(err.join('\n')).not.toContain('not-a-key');
  });
});
