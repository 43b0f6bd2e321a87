import { describe, expect, it } from 'vitest';
import { meterkeepVersion } from '@meterkeep/config';
import { runAdminCli } from './admin-cli';

const KEY = 'mk_abcdefghijkl_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
const SECRET = KEY.slice(16);

function io(answer: () => Response = () => new Response('{}'), env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const requests: Request[] = [];
  return {
    out,
    err,
    requests,
    cli: {
      env: { METERKEEP_API_KEY: KEY, METERKEEP_ENROLLMENT_URL: 'http://enrollment.test', ...env },
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      readFile: (path: string) =>
        path === 'list.csv'
          ? Promise.resolve('endpoint_name\n')
          : Promise.reject(Object.assign(new Error(), { code: 'ENOENT' })),
      fetch: ((request: Request) => {
        requests.push(request);
        return Promise.resolve(answer());
      }) as typeof fetch,
    },
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('the admin command line (meterkeep-admin)', () => {
  it('answers --version, and --help with the usage and exit 0', async () => {
    const version = io();
    expect(await runAdminCli(['--version'], version.cli)).toBe(0);
    expect(version.out).toEqual([`meterkeep-admin ${meterkeepVersion()}`]);
    const help = io();
    expect(await runAdminCli(['--help'], help.cli)).toBe(0);
    expect(help.err.join('\n')).toMatch(/devices list \[--state <state>\][\s\S]*enrollment tenant create/);
  });

  it.each([
    [['devices', 'frob'], /unknown command: devices frob/],
    [['devices', 'get'], /devices get takes <endpoint>/],
    [['devices', 'get', 'a', 'b'], /devices get takes <endpoint>/],
    [['api-keys', 'create'], /api-keys create needs --role/],
    [['devices', 'get', 'm-1', '--role', 'admin'], /devices get does not take --role/],
    [['devices', 'list', '--limit', '0'], /--limit must be a positive integer/],
    [['devices', 'list', '--frob'], /Unknown option '--frob'/],
  ])('exits 2 with the usage, calling nothing, for %j', async (argv, message) => {
    const run = io();
    expect(await runAdminCli(argv, run.cli)).toBe(2);
    expect(run.err.join('\n')).toMatch(message);
    expect(run.requests).toEqual([]);
  });

  it('exits 2 for a value the command refuses before calling (a role that does not exist)', async () => {
    const run = io();
    expect(await runAdminCli(['api-keys', 'create', '--role', 'root'], run.cli)).toBe(2);
    expect(run.err.join('\n')).toMatch(/--role must be one of admin, operator, auditor/);
    expect(run.requests).toEqual([]);
  });

  it('exits 1 naming the missing variable, never printing the key', async () => {
    const noUrl = io(undefined, { METERKEEP_ENROLLMENT_URL: '' });
    expect(await runAdminCli(['devices', 'list'], noUrl.cli)).toBe(1);
    expect(noUrl.err).toEqual(['meterkeep-admin: METERKEEP_ENROLLMENT_URL is not set']);
    const badKey = io(undefined, { METERKEEP_API_KEY: 'not a key' });
    expect(await runAdminCli(['devices', 'list'], badKey.cli)).toBe(1);
    expect(badKey.err.join('\n')).not.toContain('not a key');
    const noFile = io();
    expect(await runAdminCli(['enrollment-lists', 'upload', 'missing.csv'], noFile.cli)).toBe(1);
    expect(noFile.err).toEqual(['meterkeep-admin: cannot read missing.csv (ENOENT)']);
  });

  it('prints a page as a table, the cursor on stderr, and the same answer as JSON with --json', async () => {
    const page = { items: [{ endpointName: 'm-1', state: 'ACTIVE' }], nextCursor: 'c2' };
    const human = io(() => json(200, page));
    expect(await runAdminCli(['devices', 'list', '--state', 'ACTIVE', '--limit', '1'], human.cli)).toBe(0);
    expect(human.requests[0]!.url).toBe('http://enrollment.test/v1/devices?state=ACTIVE&limit=1');
    expect(human.out).toEqual(['endpointName\tstate', 'm-1\tACTIVE']);
    expect(human.err).toEqual(['nextCursor: c2']);
    const machine = io(() => json(200, page));
    expect(await runAdminCli(['devices', 'list', '--json'], machine.cli)).toBe(0);
    expect(JSON.parse(machine.out.join('\n'))).toEqual(page);
  });

  it('uploads an enrollment list as text with its content type', async () => {
    const run = io(() => json(201, { uploadId: 'u1', accepted: 0 }));
    expect(await runAdminCli(['enrollment-lists', 'upload', 'list.csv'], run.cli)).toBe(0);
    expect(run.requests[0]!.headers.get('content-type')).toBe('text/csv');
    expect(await run.requests[0]!.text()).toBe('endpoint_name\n');
  });

  it('prints a new key alone on stdout, the rest on stderr', async () => {
    const created = { keyId: 'k2', role: 'auditor', apiKey: 'mk_k2_new' };
    const run = io(() => json(201, created));
    expect(await runAdminCli(['api-keys', 'create', '--role', 'auditor'], run.cli)).toBe(0);
    expect(run.out).toEqual(['mk_k2_new']);
    expect(run.err.join('\n')).not.toContain('mk_k2_new');
  });

  it("exits 1 on a refusal with the server's code, as JSON too, never the key", async () => {
    const refused = () => json(403, { code: 'FORBIDDEN', message: `not for ${KEY}` });
    const human = io(refused);
    expect(await runAdminCli(['api-keys', 'list'], human.cli)).toBe(1);
    expect(human.err).toEqual(['meterkeep-admin: 403 FORBIDDEN: not for [redacted]']);
    const machine = io(refused);
    expect(await runAdminCli(['api-keys', 'list', '--json'], machine.cli)).toBe(1);
    expect(JSON.parse(machine.out[0]!)).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect([...human.out, ...human.err, ...machine.out, ...machine.err].join('\n')).not.toContain(SECRET);
  });
});
