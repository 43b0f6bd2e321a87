import type { KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OTA_REPORTABLE_STATES } from '@meterkeep/contracts';
import { signDirective, signReceipt, verifyDirective, verifyReceipt } from '@meterkeep/firmware';
import { MeterStorage } from '../device/meter-storage';
import { DistributorStandIn, type ScriptedAnswer, type SeenRequest } from '../../test/distributor-stand-in';
import {
  KEYS,
  NEW_APP,
  NOW,
  OLD_APP,
  activeImage,
  directiveFor,
  engine,
  imageServer,
  manifestFor,
  release,
  sha256,
  stopServers,
} from '../../test/update-test-kit';
import {
  CHECK_IN_MAX_ANSWER_BYTES,
  DistributorError,
  DistributorHttpClient,
  type DistributorHttpClientOptions,
  statusReportFor,
} from './distributor-http-client';
import { UpdateEngine } from './update-engine';
import { UPDATE_STATES } from './update-state';

const DIGEST = 'ab'.repeat(32);
const signedDirectiveOf = (bytes: Buffer) => JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;

let peer: DistributorStandIn;
let baseUrl: string;
const clients: DistributorHttpClient[] = [];
/** What the client slept, in ms. */
let slept: number[];

beforeEach(async () => {
  peer = new DistributorStandIn();
  baseUrl = await peer.start();
  slept = [];
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await peer.close();
  await stopServers();
});

function client(overrides: Partial<DistributorHttpClientOptions> = {}, endpointName = 'MTR-000001') {
  const c = new DistributorHttpClient({
    baseUrl,
    credential: peer.meterCredential(endpointName).credential,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...overrides,
  });
  clients.push(c);
  return c;
}

const checkInAnswer = (
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): ScriptedAnswer => ({
  status: 200,
  headers: { 'cache-control': 'private, max-age=3600', ...headers },
  body: { pollAfterSeconds: 3600, serverTime: NOW.toISOString(), ...extra },
});

async function failure(promise: Promise<unknown>): Promise<DistributorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DistributorError);
  return error as DistributorError;
}

describe('distributor client: check-in over mutual TLS', () => {
  it('presents the operational certificate, sends installed/seq/slot, and hands the engine the directive, poll interval and server time', async () => {
    const directive = directiveFor(DIGEST);
    const signed = signDirective(directive, KEYS.directive.privateKey);
    peer.script = () => checkInAnswer({ directive: signedDirectiveOf(signed), pollAfterSeconds: 3312 });

    const answer = await client().checkIn({ installed: DIGEST, seq: 43, slot: 'B' });

    const [request] = peer.requests;
    expect(request).toMatchObject({
      method: 'GET',
      path: '/ota/v1/check-in',
      query: { installed: DIGEST, seq: '43', slot: 'B' },
      peerCn: 'MTR-000001',
    });
    expect(answer.pollAfterSeconds).toBe(3312);
    expect(answer.serverTime).toEqual(NOW);
    const verified = verifyDirective(answer.directive!, KEYS.directive.publicKey, {
      deviceId: 'MTR-000001',
      lastCounter: undefined,
      trustedNow: NOW,
    });
    expect(verified).toMatchObject({ ok: true, directive: { executionId: directive.executionId } });
  });

  it('sends the hardware revision when the meter knows one', async () => {
    peer.script = () => checkInAnswer({ pollAfterSeconds: 60 });
    await client().checkIn({ installed: 'none', seq: 0, slot: 'A', hardwareRevision: 'rev-b' });
    expect(peer.requests[0]!.query).toEqual({
      installed: 'none',
      seq: '0',
      slot: 'A',
      hardwareRevision: 'rev-b',
    });
  });

  it('reports "none" and no directive when there is nothing to do', async () => {
    peer.script = () => checkInAnswer();
    const answer = await client().checkIn({ installed: 'none', seq: 0, slot: 'A' });
    expect(peer.requests[0]!.query).toEqual({ installed: 'none', seq: '0', slot: 'A' });
    expect(answer.directive).toBeUndefined();
  });

  it('keeps the ETag and the last answer: If-None-Match is sent, a 304 gives back the cached directive, on one connection', async () => {
    const signed = signDirective(directiveFor(DIGEST), KEYS.directive.privateKey);
    let etag = '"d-1"';
    peer.script = (request) =>
      request.headers['if-none-match'] === etag
        ? { status: 304, headers: { etag, 'cache-control': 'private, max-age=1800' } }
        : checkInAnswer({ directive: signedDirectiveOf(signed) }, { etag });
    const storage = new MeterStorage(mkdtempSync(join(tmpdir(), 'ota-client-')));
    const c = client({ storage });
    const report = { installed: 'none', seq: 0, slot: 'A' } as const;

    const first = await c.checkIn(report);
    const second = await c.checkIn(report);

    expect(peer.requests.map((r) => r.headers['if-none-match'])).toEqual([undefined, '"d-1"']);
    expect(Buffer.from(second.directive!)).toEqual(Buffer.from(first.directive!));
    expect(second.pollAfterSeconds).toBe(1800); // the 304's max-age
    expect(peer.requests[1]!.socket).toBe(peer.requests[0]!.socket); // keep-alive: one handshake

    // The cache is the meter's: a restarted client asks with it too.
    const restarted = client({ storage });
    expect(Buffer.from((await restarted.checkIn(report)).directive!)).toEqual(Buffer.from(first.directive!));
    expect(peer.requests[2]!.headers['if-none-match']).toBe('"d-1"');

    // Another installed manifest is another question: asked afresh, without If-None-Match.
    etag = '"d-2"';
    await c.checkIn({ installed: DIGEST, seq: 43, slot: 'B' });
    expect(peer.requests[3]!.headers['if-none-match']).toBeUndefined();
  });

  it('an answer without a directive replaces the cached one (a 304 then means "still nothing")', async () => {
    const signed = signDirective(directiveFor(DIGEST), KEYS.directive.privateKey);
    const answers: ScriptedAnswer[] = [
      checkInAnswer({ directive: signedDirectiveOf(signed) }, { etag: '"a"' }),
      checkInAnswer({}, { etag: '"b"' }),
      { status: 304, headers: { etag: '"b"' } },
    ];
    peer.script = () => answers.shift()!;
    const c = client();
    const report = { installed: 'none', seq: 0, slot: 'A' } as const;
    expect((await c.checkIn(report)).directive).toBeDefined();
    expect((await c.checkIn(report)).directive).toBeUndefined();
    expect((await c.checkIn(report)).directive).toBeUndefined();
    expect(peer.requests[2]!.headers['if-none-match']).toBe('"b"');
  });

  it('refuses a 304 to a check-in that sent no If-None-Match', async () => {
    peer.script = () => ({ status: 304 });
    const error = await failure(client().checkIn({ installed: 'none', seq: 0, slot: 'A' }));
    expect(error.code).toBe('BAD_ANSWER');
  });
});

describe('distributor client: Retry-After, refusals, trust', () => {
  it('honours Retry-After on 503 and 429, then gets its answer', async () => {
    const answers: ScriptedAnswer[] = [
      {
        status: 503,
        headers: { 'retry-after': '7' },
        body: { code: 'DISTRIBUTOR_SATURATED', message: 'busy' },
      },
      {
        status: 429,
        headers: { 'retry-after': '3' },
        body: { code: 'DOWNLOAD_URL_RATE_LIMITED', message: 'wait' },
      },
      {
        status: 200,
        body: {
          url: 'https://s3.example/x?X-Amz-Signature=s',
          expiresAt: NOW.toISOString(),
          sha256: DIGEST,
          size: 10,
        },
      },
    ];
    peer.script = () => answers.shift()!;
    expect(await client().downloadUrl('exe-1', 'app', false)).toBe('https://s3.example/x?X-Amz-Signature=s');
    expect(peer.requests).toHaveLength(3);
    expect(slept[0]).toBeGreaterThanOrEqual(7000);
    expect(slept[1]).toBeGreaterThanOrEqual(3000);
  });

  it('a Retry-After beyond what the meter waits in one request ends it, naming the wait, without sleeping', async () => {
    peer.script = () => ({
      status: 503,
      headers: { 'retry-after': '600' },
      body: { code: 'DISTRIBUTOR_SATURATED', message: 'busy' },
    });
    const error = await failure(client().checkIn({ installed: 'none', seq: 0, slot: 'A' }));
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      details: { status: 503, serverCode: 'DISTRIBUTOR_SATURATED', retryAfterSeconds: 600 },
    });
    expect(slept).toEqual([]);
    expect(peer.requests).toHaveLength(1);
  });

  it('gives up at the deadline, and does not retry a used-up status allowance (429 STATUS_LIMIT_REACHED)', async () => {
    peer.script = () => ({ status: 503, body: { code: 'NOT_YET_KNOWN', message: 'later' } });
    const error = await failure(client({ deadlineMs: 0 }).checkIn({ installed: 'none', seq: 0, slot: 'A' }));
    expect(error.code).toBe('UNAVAILABLE');

    peer.requests.length = 0;
    peer.script = () => ({ status: 429, body: { code: 'STATUS_LIMIT_REACHED', message: 'enough' } });
    const limit = await failure(client().postStatus('exe-1', { state: 'DOWNLOADING', attempt: 1, seq: 3 }));
    expect(limit).toMatchObject({
      code: 'REFUSED',
      details: { status: 429, serverCode: 'STATUS_LIMIT_REACHED' },
    });
    expect(peer.requests).toHaveLength(1);
  });

  it('raises refusals with their contract code; 401/403 as the credential refused', async () => {
    peer.script = () => ({
      status: 404,
      body: { code: 'EXECUTION_NOT_FOUND', message: 'no such execution' },
    });
    expect(await failure(client().fetchManifest('exe-1'))).toMatchObject({
      code: 'REFUSED',
      details: { status: 404, serverCode: 'EXECUTION_NOT_FOUND' },
    });
    peer.script = () => ({ status: 403, body: { code: 'METER_NOT_ACTIVE', message: 'suspended' } });
    expect(await failure(client().checkIn({ installed: 'none', seq: 0, slot: 'A' }))).toMatchObject({
      code: 'CREDENTIAL_REFUSED',
      details: { serverCode: 'METER_NOT_ACTIVE' },
    });
  });

  it('trusts only the server CAs bootstrap gave', async () => {
    peer.script = () => checkInAnswer();
    const stranger = new DistributorStandIn();
    const strangerUrl = await stranger.start();
    try {
      const c = client({ baseUrl: strangerUrl });
      expect((await failure(c.checkIn({ installed: 'none', seq: 0, slot: 'A' }))).code).toBe(
        'SERVER_UNTRUSTED',
      );
      expect(stranger.requests).toHaveLength(0);
    } finally {
      await stranger.close();
    }
  });

  it('keeps a path prefix of the OTA URI', async () => {
    peer.script = () => checkInAnswer();
    await client({ baseUrl: `${baseUrl}/meterkeep` }).checkIn({ installed: 'none', seq: 0, slot: 'A' });
    expect(peer.requests[0]!.path).toBe('/meterkeep/ota/v1/check-in');
  });
});

describe('distributor client: answers are bounded and parsed with the contract', () => {
  it.each([
    ['a poll interval of 0', checkInAnswer({ pollAfterSeconds: 0 })],
    ['no server time', { status: 200, body: { pollAfterSeconds: 60 } }],
    ['a directive that is a string', checkInAnswer({ directive: 'signed, honest' })],
    ['bytes that are not JSON', { status: 200, body: Buffer.from('<html>ok</html>') }],
  ] as [string, ScriptedAnswer][])('refuses a check-in answer with %s', async (_, answer) => {
    peer.script = () => answer;
    expect((await failure(client().checkIn({ installed: 'none', seq: 0, slot: 'A' }))).code).toBe(
      'BAD_ANSWER',
    );
  });

  it('refuses a download-URL answer that is not the contract, without putting the URL in the error', async () => {
    const secret = 'https://s3.example/x?X-Amz-Signature=0123456789abcdef';
    peer.script = () => ({ status: 200, body: { url: secret, expiresAt: 'soon', sha256: DIGEST, size: 10 } });
    const error = await failure(client().downloadUrl('exe-1', 'app', false));
    expect(error.code).toBe('BAD_ANSWER');
    expect(`${error.message} ${JSON.stringify(error.details)}`).not.toContain('X-Amz-Signature');
  });

  it('refuses status and receipt answers that are not the contract', async () => {
    peer.script = () => ({ status: 200, body: { state: 'WHATEVER', recorded: true } });
    expect(
      (await failure(client().postStatus('exe-1', { state: 'DOWNLOADING', attempt: 1, seq: 1 }))).code,
    ).toBe('BAD_ANSWER');
    peer.script = () => ({ status: 200, body: { state: 'SUCCEEDED' } });
    const receipt = signReceipt(
      {
        deviceId: 'MTR-000001',
        executionId: 'exe-1',
        manifestDigest: DIGEST,
        sequenceNumber: 43,
        bootedSlot: 'B',
        bootedImageDigests: { app: DIGEST },
        confirmedAt: NOW.toISOString(),
        nonce: 'n'.repeat(22),
      },
      KEYS.operational.privateKey,
    );
    expect((await failure(client().postReceipt('exe-1', receipt))).code).toBe('BAD_ANSWER');
  });

  it('refuses an announced oversized answer before reading it', async () => {
    peer.script = () => ({
      status: 200,
      body: Buffer.alloc(CHECK_IN_MAX_ANSWER_BYTES + 1, 0x20),
    });
    expect((await failure(client().checkIn({ installed: 'none', seq: 0, slot: 'A' }))).code).toBe(
      'BAD_ANSWER',
    );
  });

  it('cuts an endless manifest at the envelope limit', async () => {
    peer.script = () => ({ status: 200, endless: true });
    const error = await failure(client().fetchManifest('exe-1'));
    expect(error).toMatchObject({ code: 'BAD_ANSWER' });
    expect(error.message).toMatch(/larger than 65536 bytes/);
    // The meter stopped reading: what the server managed to write is bounded by socket buffers.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(peer.endlessBytesSent).toBeLessThan(8 * 1024 * 1024);
  });

  it('returns the manifest bytes exactly as served', async () => {
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    peer.script = () => ({ status: 200, body: signed.envelope });
    expect(Buffer.from(await client().fetchManifest('exe-1'))).toEqual(signed.envelope);
    expect(peer.requests[0]!.path).toBe('/ota/v1/executions/exe-1/manifest');
  });
});

describe('distributor client: status reports and receipts', () => {
  it('maps every engine state to a reportable one, or sends nothing', () => {
    const mapped = Object.fromEntries(
      UPDATE_STATES.map((state) => [state, statusReportFor({ state, attempt: 1, seq: 1 })?.state ?? null]),
    );
    expect(mapped).toEqual({
      IDLE: null,
      CHECKING: null,
      NOTIFIED: 'NOTIFIED',
      DOWNLOADING: 'DOWNLOADING',
      DOWNLOAD_PAUSED: null,
      DOWNLOADED: 'DOWNLOADED',
      VERIFYING: null,
      VERIFIED: 'VERIFIED',
      WAITING_WINDOW: null,
      WAITING_FORCE_TIME: null,
      DOWNLOAD_ONLY_HOLD: null,
      INSTALLING: 'INSTALLING',
      REBOOTING: 'REBOOTING',
      CONFIRMING: 'CONFIRMING',
      SUCCEEDED: null,
      FAILED: 'FAILED',
      REJECTED: 'REJECTED',
      ROLLED_BACK: 'ROLLED_BACK',
      CANCELLED: null,
    });
    for (const state of Object.values(mapped))
      if (state !== null) expect(OTA_REPORTABLE_STATES).toContain(state);
    expect(
      statusReportFor({ state: 'SUCCEEDED', attempt: 1, seq: 9, failureCode: 'ALREADY_INSTALLED' }),
    ).toEqual({
      state: 'ALREADY_INSTALLED',
      attempt: 1,
      seq: 9,
    });
  });

  it('posts reportable states with their code, and nothing for the others', async () => {
    peer.script = (request: SeenRequest) => ({
      status: 200,
      body: { state: (JSON.parse(request.body.toString()) as { state: string }).state, recorded: true },
    });
    const c = client();
    await c.postStatus('exe-7', {
      state: 'DOWNLOAD_PAUSED',
      attempt: 1,
      seq: 4,
      failureCode: 'DOWNLOAD_SLOW',
    });
    await c.postStatus('exe-7', { state: 'VERIFYING', attempt: 1, seq: 5 });
    await c.postStatus('exe-7', { state: 'REJECTED', attempt: 2, seq: 6, failureCode: 'DIGEST_MISMATCH' });
    expect(peer.requests).toHaveLength(1);
    expect(peer.requests[0]).toMatchObject({
      method: 'POST',
      path: '/ota/v1/executions/exe-7/status',
      headers: { 'content-type': 'application/json' },
    });
    expect(JSON.parse(peer.requests[0]!.body.toString())).toEqual({
      state: 'REJECTED',
      attempt: 2,
      seq: 6,
      failureCode: 'DIGEST_MISMATCH',
    });
  });

  it('posts the signed receipt as the meter signed it', async () => {
    peer.script = () => ({ status: 200, body: { state: 'SUCCEEDED', receiptDigest: DIGEST } });
    const receipt = signReceipt(
      {
        deviceId: 'MTR-000001',
        executionId: 'exe-9',
        manifestDigest: DIGEST,
        sequenceNumber: 43,
        bootedSlot: 'B',
        bootedImageDigests: { app: DIGEST },
        confirmedAt: NOW.toISOString(),
        nonce: 'n'.repeat(22),
      },
      KEYS.operational.privateKey,
    );
    await client().postReceipt('exe-9', receipt);
    expect(peer.requests[0]!.path).toBe('/ota/v1/executions/exe-9/receipt');
    expect(peer.requests[0]!.body).toEqual(receipt); // the exact bytes signed
    expect(
      verifyReceipt(peer.requests[0]!.body, KEYS.operational.publicKey, {
        deviceId: 'MTR-000001',
        executionId: 'exe-9',
        nonce: 'n'.repeat(22),
      }),
    ).toMatchObject({ ok: true });
  });
});

/** A distributor stand-in that serves one directive and manifest, and verifies receipts. */
async function distributorFor(served: Buffer, publicKey: KeyObject) {
  const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
  const directive = directiveFor(signed.digest);
  const directiveBytes = signDirective(directive, KEYS.directive.privateKey);
  const { url } = await imageServer(served);
  const statuses: unknown[] = [];
  let receipt: unknown;
  peer.script = (request) => {
    if (request.path.endsWith('/check-in'))
      return receipt ? checkInAnswer() : checkInAnswer({ directive: signedDirectiveOf(directiveBytes) });
    if (request.path.endsWith('/manifest')) return { status: 200, body: signed.envelope };
    if (request.path.endsWith('/download-url'))
      return {
        status: 200,
        body: { url, expiresAt: NOW.toISOString(), sha256: sha256(NEW_APP), size: NEW_APP.length },
      };
    if (request.path.endsWith('/status')) {
      const status = JSON.parse(request.body.toString()) as { state: string };
      statuses.push(status);
      return { status: 200, body: { state: status.state, recorded: true } };
    }
    const checked = verifyReceipt(request.body, publicKey, {
      deviceId: 'MTR-000001',
      executionId: directive.executionId,
      nonce: directive.nonce,
    });
    if (!checked.ok) return { status: 422, body: { code: checked.code, message: checked.message } };
    receipt = checked.receipt;
    return { status: 200, body: { state: 'SUCCEEDED', receiptDigest: checked.digest } };
  };
  return { signed, statuses, receipt: () => receipt };
}

describe('the update engine over the HTTP client', () => {
  it('checks in, fetches, installs, confirms, and its receipt verifies against its certificate', async () => {
    const meterKeys = peer.meterCredential('MTR-000001');
    const { signed, statuses, receipt } = await distributorFor(NEW_APP, meterKeys.publicKey);
    const storage = new MeterStorage(mkdtempSync(join(tmpdir(), 'ota-engine-')));
    UpdateEngine.factoryImage(storage, 'app', OLD_APP);
    const c = client({ credential: meterKeys.credential, storage });
    const e = engine(storage, c, {
      trust: {
        directivePublicKeys: [KEYS.directive.publicKey],
        rootPublicKeys: [KEYS.authority.publicKey],
        operationalPrivateKey: meterKeys.privateKey,
      },
    });

    expect(await e.runOnce()).toMatchObject({ state: 'SUCCEEDED', pollAfterSeconds: 3600 });
    expect(activeImage(storage, e)).toBe(sha256(NEW_APP));
    expect(statuses.map((s) => (s as { state: string }).state)).toEqual([
      'NOTIFIED',
      'DOWNLOADING',
      'DOWNLOADED',
      'VERIFIED',
      'INSTALLING',
      'REBOOTING',
      'CONFIRMING',
    ]);
    expect(receipt()).toMatchObject({ manifestDigest: signed.digest, bootedSlot: 'B' });
    expect(await e.runOnce()).toMatchObject({ state: 'IDLE' });
    expect(peer.to('/check-in').at(-1)!.query).toEqual({ installed: signed.digest, seq: '43', slot: 'B' });
  });

  it('a tampering meter refuses the image and reports REJECTED DIGEST_MISMATCH', async () => {
    const meterKeys = peer.meterCredential('MTR-000001');
    const { statuses, receipt } = await distributorFor(NEW_APP, meterKeys.publicKey);
    const storage = new MeterStorage(mkdtempSync(join(tmpdir(), 'ota-engine-')));
    const e = engine(storage, client({ credential: meterKeys.credential }), {
      faults: { failRate: 0, bootFailRate: 0, offlineDays: 0, clockSkewMs: 0, tamperImages: true },
    });
    expect(await e.runOnce()).toMatchObject({ state: 'REJECTED', failureCode: 'DIGEST_MISMATCH' });
    expect(statuses.at(-1)).toEqual({
      state: 'REJECTED',
      attempt: 1,
      seq: 5,
      failureCode: 'DIGEST_MISMATCH',
    });
    expect(receipt()).toBeUndefined();
  });
});
