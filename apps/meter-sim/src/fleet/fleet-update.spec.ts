import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signDirective, verifyReceipt } from '@meterkeep/firmware';
import { runMeterSim } from '../cli';
import { DistributorStandIn, type ScriptedAnswer, type SeenRequest } from '../../test/distributor-stand-in';
import { StandIns } from '../../test/stand-ins';
import {
  KEYS,
  NEW_APP,
  NOW,
  directiveFor,
  imageServer,
  manifestFor,
  release,
  sha256,
  stopServers,
} from '../../test/update-test-kit';
import { loadFleet, runFleet } from './fleet';
import type { FleetUpdateSummary } from './fleet-update';

const pem = (key: { export: (o: { type: 'spki'; format: 'pem' }) => string | Buffer }) =>
  String(key.export({ type: 'spki', format: 'pem' }));

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(closers.splice(0).map((close) => close()));
  await stopServers();
});

/**
 * A fleet bootstrapped by the bootstrap stand-in (which pins the directive key and names the OTA
 * stand-in), and a distributor stand-in that gives every meter one execution of one release.
 */
async function fleetWithADeployment(meters: number, payload: Buffer = NEW_APP, imageUrl?: string) {
  const pki = new StandIns();
  const distributor = new DistributorStandIn({
    platformCa: pki.platformCa,
    operationalCa: pki.operationalCa,
  });
  closers.push(
    () => pki.close(),
    () => distributor.close(),
  );
  const otaUri = await distributor.start();
  const bootstrap = await pki.bootstrapServer('https://localhost:1', [pki.platformCa.certificate.pem], {
    uri: otaUri,
    directivePublicKeysPem: [pem(KEYS.directive.publicKey)],
  });
  const stateDir = mkdtempSync(join(tmpdir(), 'fleet-update-'));
  for (let i = 1; i <= meters; i++)
    pki.provisionedMeter(`MTR-${String(i).padStart(6, '0')}`, stateDir, pem(KEYS.authority.publicKey));
  const bootstrapped = await runFleet(loadFleet(stateDir, { bootstrapUrl: bootstrap.url }), 4, (m) =>
    m.client.bootstrap(),
  );
  expect(bootstrapped.failed).toEqual([]);

  const signed = release(manifestFor(43, [{ id: 'app', payload }], { classId: 'em300' }));
  // The image server ignores the query: it stands for a presigned URL's signature, which is a secret.
  const url = `${imageUrl ?? (await imageServer(payload)).url}?X-Amz-Signature=5ec7e75ec7e7`;
  const directives = new Map<string, ReturnType<typeof directiveFor>>();
  /** Per device: the last state reported, and whether its receipt came. */
  const devices = new Map<string, { state?: string; failureCode?: string; receipt?: boolean }>();
  const closed = (cn: string) => {
    const d = devices.get(cn);
    return d?.receipt || d?.state === 'REJECTED' || d?.state === 'FAILED' || d?.state === 'ROLLED_BACK';
  };
  distributor.script = (request: SeenRequest): ScriptedAnswer => {
    const cn = request.peerCn;
    if (request.path.endsWith('/check-in')) {
      const body: Record<string, unknown> = { pollAfterSeconds: 3600, serverTime: NOW.toISOString() };
      if (!closed(cn)) {
        const directive = directives.get(cn) ?? directiveFor(signed.digest, { deviceId: cn });
        directives.set(cn, directive);
        body.directive = JSON.parse(
          signDirective(directive, KEYS.directive.privateKey).toString(),
        ) as unknown;
      }
      return { status: 200, body };
    }
    if (request.path.endsWith('/manifest')) return { status: 200, body: signed.envelope };
    if (request.path.endsWith('/download-url'))
      return {
        status: 200,
        body: { url, expiresAt: NOW.toISOString(), sha256: sha256(payload), size: payload.length },
      };
    if (request.path.endsWith('/status')) {
      const status = JSON.parse(request.body.toString()) as { state: string; failureCode?: string };
      devices.set(cn, { ...devices.get(cn), ...status });
      return { status: 200, body: { state: status.state, recorded: true } };
    }
    const directive = directives.get(cn)!;
    // Signed with the key of the certificate the meter presented, bound to its directive.
    const receipt = verifyReceipt(request.body, request.peerPublicKey!, {
      deviceId: cn,
      executionId: directive.executionId,
      nonce: directive.nonce,
    });
    if (!receipt.ok) return { status: 422, body: { code: receipt.code, message: receipt.message } };
    devices.set(cn, { ...devices.get(cn), receipt: true });
    return { status: 200, body: { state: 'SUCCEEDED', receiptDigest: sha256(request.body) } };
  };
  return { stateDir, signed, distributor, devices, bootstrap };
}

async function run(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void out.push(String(line)));
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void err.push(String(line)));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => (err.push(String(chunk)), true));
  return { code: await runMeterSim(args), out, err };
}

describe('meter-sim fleet update', () => {
  it('--until-idle: every meter installs the release and stops when none has an active execution; a tampering meter refuses it', async () => {
    const { stateDir, signed, distributor, devices } = await fleetWithADeployment(3);

    const { code, out, err } = await run([
      'fleet',
      'update',
      '--state',
      stateDir,
      '--until-idle',
      '--ota-poll-seconds',
      '0.01',
      '--ota-tamper-meters',
      '1',
      '--concurrency',
      '2',
      '--json',
    ]);

    expect(code).toBe(0);
    expect(err.join('\n')).toMatch(/round 1: \d\/3 meters with an active execution/);
    expect([...out, ...err].join('\n')).not.toContain('X-Amz-Signature'); // never printed
    const summary = JSON.parse(out[0]!) as FleetUpdateSummary;
    expect(summary).toMatchObject({ meters: 3, idle: true, outcomes: { REJECTED: 1, SUCCEEDED: 2 } });
    // The update, then a check-in that names no execution (meters fall due apart: a round may take only some).
    expect(summary.rounds).toBeGreaterThanOrEqual(2);
    expect(summary.rounds).toBeLessThanOrEqual(4);
    expect(summary.devices[0]).toMatchObject({
      deviceId: 'MTR-000001',
      outcome: 'REJECTED',
      failureCode: 'DIGEST_MISMATCH',
      tampering: true,
    });
    expect(summary.devices[0]!.installedManifestDigest).toBeUndefined();
    for (const device of summary.devices.slice(1))
      expect(device).toMatchObject({
        outcome: 'SUCCEEDED',
        installedSequence: 43,
        installedVersion: '1.0.43',
        installedManifestDigest: signed.digest,
        bytesFetched: NEW_APP.length,
      });
    // What the distributor heard: the refusal with its code, the others' receipts.
    expect(devices.get('MTR-000001')).toMatchObject({ state: 'REJECTED', failureCode: 'DIGEST_MISMATCH' });
    expect(devices.get('MTR-000001')!.receipt).toBeUndefined();
    expect(devices.get('MTR-000002')).toMatchObject({ receipt: true });
    // Every request came over mutual TLS with the meter's own operational certificate.
    expect(new Set(distributor.requests.map((r) => r.peerCn))).toEqual(
      new Set(['MTR-000001', 'MTR-000002', 'MTR-000003']),
    );
  });

  it('--ota-lose-receipt-meters: the first receipt never arrives; the next check-in reports the release and the receipt is sent again', async () => {
    const { stateDir, signed, distributor, devices } = await fleetWithADeployment(2);

    const { code, out } = await run([
      'fleet',
      'update',
      '--state',
      stateDir,
      '--until-idle',
      '--ota-poll-seconds',
      '0.01',
      '--ota-lose-receipt-meters',
      '1',
      '--ota-hardware-revisions',
      'rev-a,rev-b',
      '--json',
    ]);

    expect(code).toBe(0);
    const summary = JSON.parse(out[0]!) as FleetUpdateSummary;
    expect(summary).toMatchObject({ idle: true, outcomes: { SUCCEEDED: 2 } });
    const seen = (cn: string) => distributor.requests.filter((r) => r.peerCn === cn);
    const receipts = (cn: string) => seen(cn).filter((r) => r.path.endsWith('/receipt'));
    // One receipt POST each reached the distributor: the losing meter's only after another check-in,
    // one that reported the release it runs.
    expect(receipts('MTR-000001')).toHaveLength(1);
    expect(receipts('MTR-000002')).toHaveLength(1);
    const lost = seen('MTR-000001');
    const receiptAt = lost.findIndex((r) => r.path.endsWith('/receipt'));
    const before = lost.slice(0, receiptAt);
    expect(before.at(-1)).toMatchObject({ query: { installed: signed.digest } });
    expect(before.filter((r) => r.path.endsWith('/check-in')).length).toBeGreaterThanOrEqual(2);
    expect(before.filter((r) => r.path.endsWith('/download-url'))).toHaveLength(1);
    expect(devices.get('MTR-000001')).toMatchObject({ receipt: true });
    // Meter i reports revision i mod 2 at every check-in (campaigns stratify by it).
    const revisions = (cn: string) =>
      new Set(
        seen(cn)
          .filter((r) => r.path.endsWith('/check-in'))
          .map((r) => r.query.hardwareRevision),
      );
    expect(revisions('MTR-000001')).toEqual(new Set(['rev-a']));
    expect(revisions('MTR-000002')).toEqual(new Set(['rev-b']));
    const other = seen('MTR-000002');
    expect(other[other.findIndex((r) => r.path.endsWith('/receipt')) - 1]!.path).not.toMatch(/check-in$/);

    await expect(
      run(['fleet', 'update', '--state', stateDir, '--max-rounds', '1', '--ota-lose-receipt-meters', 'x']),
    ).rejects.toThrow('--ota-lose-receipt-meters must be a whole number');
  });

  it('prints one line per meter and a summary', async () => {
    const { stateDir, signed } = await fleetWithADeployment(2);
    const { code, out } = await run([
      'fleet',
      'update',
      '--state',
      stateDir,
      '--max-rounds',
      '1',
      '--ota-tamper-meters',
      '1',
    ]);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^MTR-000001 +REJECTED +factory firmware +DIGEST_MISMATCH +\(tampering\)$/);
    expect(out[1]).toMatch(
      new RegExp(`^MTR-000002 +SUCCEEDED +seq 43 1\\.0\\.43 ${signed.digest.slice(0, 16)}`),
    );
    expect(out[2]).toMatch(/^update: 2 meters, 1 rounds, executions still active; REJECTED 1, SUCCEEDED 1;/);
  });

  it('a distributor that does not answer: --ota-uri is used, each request gives up after --retry-for, the rounds end', async () => {
    const { stateDir, distributor } = await fleetWithADeployment(1);
    const started = Date.now();
    const { code, out } = await run([
      'fleet',
      'update',
      '--state',
      stateDir,
      '--until-idle',
      '--max-rounds',
      '2',
      '--ota-uri',
      'https://localhost:1',
      '--retry-for',
      '1',
      '--ota-poll-seconds',
      '0.01',
      '--json',
    ]);
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(JSON.parse(out[0]!)).toMatchObject({
      rounds: 2,
      idle: false,
      outcomes: { ERROR: 1 },
      devices: [
        { outcome: 'ERROR', error: expect.stringMatching(/^check-in: no answer after \d+ attempts/) },
      ],
    });
    expect(distributor.requests).toHaveLength(0);
  });

  it('a meter whose certificate the distributor refuses bootstraps again once, and updates with the new one', async () => {
    const { stateDir, distributor, bootstrap } = await fleetWithADeployment(2);
    const revoked = new Set(bootstrap.issued); // every certificate issued so far
    const serve = distributor.script;
    distributor.script = (request) =>
      revoked.has(request.peerFingerprint) && request.peerCn === 'MTR-000001'
        ? { status: 401, body: { code: 'CERTIFICATE_REVOKED', message: 'revoked' } }
        : serve(request);

    const { code, out } = await run([
      'fleet',
      'update',
      '--state',
      stateDir,
      '--until-idle',
      '--ota-poll-seconds',
      '0.01',
      '--bootstrap-url',
      bootstrap.url,
      '--json',
    ]);

    expect(code).toBe(0);
    const summary = JSON.parse(out[0]!) as FleetUpdateSummary;
    expect(summary.devices).toMatchObject([
      { deviceId: 'MTR-000001', outcome: 'SUCCEEDED', rebootstrapped: true },
      { deviceId: 'MTR-000002', outcome: 'SUCCEEDED' },
    ]);
    expect(summary.devices[1]!.rebootstrapped).toBeUndefined();
    expect(bootstrap.issued).toHaveLength(3); // two at the start, one more for the refused meter
  });

  it('a meter refused as not ACTIVE does not bootstrap again', async () => {
    const { stateDir, distributor, bootstrap } = await fleetWithADeployment(1);
    distributor.script = () => ({ status: 403, body: { code: 'METER_NOT_ACTIVE', message: 'suspended' } });
    const { code, out } = await run([
      'fleet',
      'update',
      '--state',
      stateDir,
      '--max-rounds',
      '2',
      '--ota-poll-seconds',
      '0.01',
      '--bootstrap-url',
      bootstrap.url,
      '--json',
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(out[0]!)).toMatchObject({
      devices: [{ outcome: 'ERROR', error: expect.stringContaining('METER_NOT_ACTIVE') }],
    });
    expect(bootstrap.issued).toHaveLength(1);
  });

  it('a meter without an operational credential is an error line, and the exit code says so', async () => {
    const pki = new StandIns();
    closers.push(() => pki.close());
    const stateDir = mkdtempSync(join(tmpdir(), 'fleet-update-'));
    pki.provisionedMeter('MTR-000001', stateDir);
    const { code, out } = await run(['fleet', 'update', '--state', stateDir, '--max-rounds', '1', '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(out[0]!)).toMatchObject({
      outcomes: { ERROR: 1 },
      devices: [{ deviceId: 'MTR-000001', outcome: 'ERROR', error: expect.stringMatching(/bootstrap/) }],
    });
  });
});

describe('meter-sim fleet update, killed', () => {
  it('sim.resume.range-after-sigkill (real processes): 10 SIGKILLs mid-download, ≤ 1.05 × size fetched, then installed', async () => {
    // The built CLI, copied so that a rebuild by another test cannot change it under the child.
    const root = resolve(__dirname, '../../../..');
    execFileSync(process.execPath, [join(root, 'tools/build.mjs')], { cwd: root, stdio: 'pipe' });
    mkdirSync(join(root, 'tmp'), { recursive: true });
    const copy = mkdtempSync(join(root, 'tmp', 'meter-sim-cli-'));
    closers.push(() => Promise.resolve(rmSync(copy, { recursive: true, force: true })));
    for (const part of ['dist/apps/meter-sim', 'dist/libs'])
      cpSync(join(root, part), join(copy, part), { recursive: true });
    const main = join(copy, 'dist/apps/meter-sim/src/main.js');

    const image = randomBytes(4 * 1024 * 1024);
    const interruptions = 10;
    const killEvery = Math.ceil(image.length / (interruptions + 1));
    let sent = 0;
    let child: ChildProcess | undefined;
    const ranges: (string | undefined)[] = [];
    // Paced in small pieces, so what is sent is what the meter could have received when it dies.
    const server = createServer((request, response) => {
      ranges.push(request.headers.range);
      const start = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? '')?.[1] ?? 0);
      const headers: Record<string, string | number> = { 'content-length': image.length - start };
      if (start > 0) headers['content-range'] = `bytes ${start}-${image.length - 1}/${image.length}`;
      response.writeHead(start > 0 ? 206 : 200, headers);
      let at = start;
      const pump = () => {
        if (response.destroyed) return;
        if (at >= image.length) return void response.end();
        const piece = image.subarray(at, at + 4096);
        at += piece.length;
        sent += piece.length;
        response.write(piece);
        // Killed mid-write, without warning, once its share of the image went out.
        if (child && ranges.length <= interruptions && sent >= ranges.length * killEvery) {
          child.kill('SIGKILL');
          child = undefined;
          return;
        }
        setTimeout(pump, 4);
      };
      pump();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    closers.push(() => new Promise((done) => server.close(done)));
    const imageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/image`;
    const { stateDir, signed, devices } = await fleetWithADeployment(1, image, imageUrl);

    const args = ['fleet', 'update', '--state', stateDir, '--ota-poll-seconds', '0.01', '--json'];
    const runChild = (extra: string[]) =>
      new Promise<{ code: number | null; signal: string | null; out: string }>((done) => {
        let out = '';
        const spawned = spawn(process.execPath, [main, ...args, ...extra], {
          env: { PATH: process.env.PATH },
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        child = spawned;
        spawned.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        spawned.on('exit', (code, signal) => done({ code, signal, out }));
      });
    for (let i = 1; i <= interruptions; i += 1) {
      const killed = await runChild(['--max-rounds', '1']);
      expect(killed.signal, `run ${i}`).toBe('SIGKILL');
    }
    const last = await runChild(['--until-idle', '--max-rounds', '5']);
    expect(last.code).toBe(0);
    expect(JSON.parse(last.out)).toMatchObject({
      idle: true,
      devices: [{ outcome: 'SUCCEEDED', installedManifestDigest: signed.digest }],
    });
    expect(devices.get('MTR-000001')).toMatchObject({ receipt: true });
    // Each restart resumed where the persisted offset said, never from the start.
    expect(ranges).toHaveLength(interruptions + 1);
    expect(ranges[0]).toBeUndefined();
    expect(ranges.slice(1).every((r) => /^bytes=[1-9]\d*-$/.test(r ?? ''))).toBe(true);
    expect(sent).toBeGreaterThanOrEqual(image.length);
    expect(sent).toBeLessThanOrEqual(1.05 * image.length);
  }, 180_000);
});
