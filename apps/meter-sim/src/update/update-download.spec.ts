import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createDelta } from '@meterkeep/firmware-delta';
import { NO_FAULTS } from './update-faults';
import { PART_FILE } from './update-state';
import {
  ImageServer,
  NEW_APP,
  OLD_APP,
  activeImage,
  directiveFor,
  engine,
  manifestFor,
  meter,
  offer,
  release,
  sha256,
  stopServers,
} from '../../test/update-test-kit';

afterEach(stopServers);

describe('update engine: the bytes fetched (untrusted URL, signed digest and size)', () => {
  it('suit.redirect.foreign-bytes-digest-mismatch: other bytes behind the URL are not installed', async () => {
    const foreign = randomBytes(NEW_APP.length);
    const { storage, distributor } = await meter(foreign);
    offer(distributor, 43);
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({ state: 'REJECTED', failureCode: 'DIGEST_MISMATCH' });
    expect(activeImage(storage, e)).toBe(sha256(OLD_APP));
    expect(e.snapshot.components.app).toMatchObject({ activeSlot: 'A' });
    expect(storage.has('slot-app-B.bin')).toBe(false);
    expect(storage.has(PART_FILE)).toBe(false);
  });

  it('suit.onpath.tampered-byte-refused', async () => {
    const tampered = Buffer.from(NEW_APP);
    tampered[tampered.length >> 1]! ^= 0x01;
    const { storage, distributor } = await meter(tampered);
    offer(distributor, 43);
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({ state: 'REJECTED', failureCode: 'DIGEST_MISMATCH' });
    expect(e.snapshot.components.app!.installedSequence).toBeUndefined();
  });

  it('the tamper fault (--ota-tamper-meters): the fetched image with one byte changed is refused and reported', async () => {
    const { storage, distributor, server } = await meter();
    offer(distributor, 43);
    const e = engine(storage, distributor, {
      faults: { failRate: 0, bootFailRate: 0, offlineDays: 0, clockSkewMs: 0, tamperImages: true },
    });
    expect(await e.runOnce()).toMatchObject({ state: 'REJECTED', failureCode: 'DIGEST_MISMATCH' });
    expect(server.bytesSent).toBe(NEW_APP.length); // the right bytes were served; the meter saw others
    expect(distributor.statuses.at(-1)).toMatchObject({ state: 'REJECTED', failureCode: 'DIGEST_MISMATCH' });
    expect(activeImage(storage, e)).toBe(sha256(OLD_APP));
    expect(storage.has('slot-app-B.bin')).toBe(false);
    expect(distributor.receipts).toHaveLength(0);
    // Without the fault the same meter takes the same release.
    offer(distributor, 44);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({ state: 'SUCCEEDED' });
  });

  it('suit.extra.bytes-beyond-size-refused: announced trailing bytes are refused before reading', async () => {
    const { storage, distributor, server } = await meter(Buffer.concat([NEW_APP, Buffer.from('trailer')]));
    offer(distributor, 43);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'FAILED',
      failureCode: 'SIZE_EXCEEDED',
      bytesFetched: 0,
    });
    expect(server.ranges).toHaveLength(1);
  });

  it('suit.extra.bytes-beyond-size-refused: unannounced trailing bytes stop the read at size', async () => {
    const { storage, distributor } = await meter(Buffer.concat([NEW_APP, randomBytes(64 * 1024)]));
    const [server] = [
      new ImageServer({ kind: 'serve', bytes: Buffer.concat([NEW_APP, randomBytes(64 * 1024)]) }),
    ];
    server.chunked = true;
    distributor.url = await server.start();
    offer(distributor, 43);
    const e = engine(storage, distributor);
    const outcome = await e.runOnce();
    await server.stop();
    expect(outcome).toMatchObject({ state: 'FAILED', failureCode: 'SIZE_EXCEEDED' });
    expect(activeImage(storage, e)).toBe(sha256(OLD_APP));
  });

  it('uptane.endless-data.abort-at-size', async () => {
    const { storage, distributor } = await meter();
    const endless = new ImageServer({ kind: 'endless' });
    distributor.url = await endless.start();
    offer(distributor, 43);
    const outcome = await engine(storage, distributor).runOnce();
    await endless.stop();
    expect(outcome).toMatchObject({ state: 'FAILED', failureCode: 'SIZE_EXCEEDED' });
    // Read up to the signed size and one network chunk past it, never more.
    expect(outcome.bytesFetched).toBeLessThanOrEqual(NEW_APP.length + 64 * 1024);
  });

  it('INSUFFICIENT_SPACE before any byte when the signed size is larger than the slot', async () => {
    const { storage, distributor, server } = await meter();
    offer(distributor, 43);
    expect(await engine(storage, distributor, { slotBytes: 1024 }).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'INSUFFICIENT_SPACE',
    });
    expect(server.bytesSent).toBe(0);
  });

  it('DOWNLOAD_HTTP_<status> for an error answer, the partial file dropped', async () => {
    const { storage, distributor, server } = await meter();
    server.mode = { kind: 'status', status: 404 };
    offer(distributor, 43);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'FAILED',
      failureCode: 'DOWNLOAD_HTTP_404',
    });
    expect(storage.has(PART_FILE)).toBe(false);
  });

  it('DOWNLOAD_URL_EXPIRED: a 403 makes the meter ask for a fresh URL', async () => {
    const { storage, distributor, server } = await meter();
    server.failFirst = { count: 1, status: 403 };
    offer(distributor, 43);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({ state: 'SUCCEEDED' });
    expect(distributor.urlRequests).toBe(2);
    server.failFirst = { count: 10, status: 403 };
    offer(distributor, 44, randomBytes(100));
    expect(await engine(storage, distributor, { maxDownloadAttempts: 3 }).runOnce()).toMatchObject({
      state: 'DOWNLOAD_PAUSED',
      failureCode: 'DOWNLOAD_URL_EXPIRED',
    });
  });

  it('a lost connection pauses the download, offset kept', async () => {
    const { storage, distributor } = await meter();
    const gone = new ImageServer({ kind: 'serve', bytes: NEW_APP });
    distributor.url = await gone.start();
    await gone.stop();
    offer(distributor, 43);
    expect(await engine(storage, distributor, { maxDownloadAttempts: 2 }).runOnce()).toMatchObject({
      state: 'DOWNLOAD_PAUSED',
    });
  });
});

describe('update engine: resume (Range) and slow retrieval', () => {
  it('sim.resume.range-after-sigkill: 10 interruptions, a torn tail each time, ≤ 1.05 × size fetched', async () => {
    const { storage, distributor, server } = await meter();
    offer(distributor, 43);
    const dropAtBytes = Math.ceil(NEW_APP.length / 11);
    let interruptions = 0;
    let fetched = 0;
    let outcome = await engine(storage, distributor, {
      faults: { failRate: 0, bootFailRate: 0, offlineDays: 0, clockSkewMs: 0, dropAtBytes },
      maxDownloadAttempts: 1,
    }).runOnce();
    while (outcome.state === 'DOWNLOAD_PAUSED') {
      interruptions += 1;
      // Killed after bytes reached the file but before the offset was persisted: a torn tail.
      appendFileSync(storage.pathOf(PART_FILE), randomBytes(1000));
      // A new process: everything it knows comes from storage.
      const faults = {
        failRate: 0,
        bootFailRate: 0,
        offlineDays: 0,
        clockSkewMs: 0,
        ...(interruptions < 10 && { dropAtBytes }),
      };
      fetched += outcome.bytesFetched;
      outcome = await engine(storage, distributor, { faults, maxDownloadAttempts: 1 }).runOnce();
    }
    fetched += outcome.bytesFetched;
    expect(interruptions).toBe(10);
    expect(outcome).toMatchObject({ state: 'SUCCEEDED' });
    expect(fetched).toBeGreaterThanOrEqual(NEW_APP.length);
    expect(fetched).toBeLessThanOrEqual(1.05 * NEW_APP.length);
    expect(server.ranges.filter((r) => r?.startsWith('bytes='))).toHaveLength(10);
    expect(activeImage(storage, engine(storage, distributor))).toBe(sha256(NEW_APP));
  });

  it('uptane.slow-retrieval.low-speed-abort-and-resume', async () => {
    const { storage, distributor, server } = await meter();
    offer(distributor, 43);
    server.mode = { kind: 'stall', bytes: NEW_APP, after: 10_000 };
    // A clock that advances 10 s each time it is read: the stalled link falls below 100 B/s over 60 s.
    let t = 0;
    const fastClock = () => (t += 10_000);
    const paused = await engine(storage, distributor, {
      monotonicMs: fastClock,
      lowSpeedCheckEveryMs: 5,
    }).runOnce();
    expect(paused).toMatchObject({ state: 'DOWNLOAD_PAUSED', failureCode: 'DOWNLOAD_SLOW' });
    server.mode = { kind: 'serve', bytes: NEW_APP };
    const resumed = await engine(storage, distributor).runOnce();
    expect(resumed).toMatchObject({ state: 'SUCCEEDED', bytesFetched: NEW_APP.length - 10_000 });
    expect(server.ranges.at(-1)).toBe('bytes=10000-');
  });

  it('--ota-slow-bps: the meter reads no faster than the link rate (a pause per chunk, the whole image paced)', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    const bytesPerSecond = 64 * 1024;
    const paused: number[] = [];
    const e = engine(storage, distributor, {
      faults: { ...NO_FAULTS, slowBytesPerSecond: bytesPerSecond },
      // Recorded, not slept: the pacing is the sum of the pauses the meter asked for.
      sleep: (ms) => {
        paused.push(ms);
        return Promise.resolve();
      },
    });
    expect(await e.runOnce()).toMatchObject({ state: 'SUCCEEDED', bytesFetched: NEW_APP.length });
    const pacedMs = paused.reduce((sum, ms) => sum + ms, 0);
    expect(pacedMs).toBeGreaterThanOrEqual((NEW_APP.length * 1000) / bytesPerSecond - 1);
    // Without the fault the same download asks for no pause.
    const unpaced: number[] = [];
    const plain = await meter();
    offer(plain.distributor, 43);
    const sleep = (ms: number) => {
      unpaced.push(ms);
      return Promise.resolve();
    };
    expect(await engine(plain.storage, plain.distributor, { sleep }).runOnce()).toMatchObject({
      state: 'SUCCEEDED',
    });
    expect(unpaced).toEqual([]);
  });

  it('DOWNLOAD_EXHAUSTED after too many interruptions', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    const faults = { failRate: 0, bootFailRate: 0, offlineDays: 0, clockSkewMs: 0, dropAtBytes: 1000 };
    expect(await engine(storage, distributor, { faults, maxInterruptions: 3 }).runOnce()).toMatchObject({
      state: 'FAILED',
      failureCode: 'DOWNLOAD_EXHAUSTED',
    });
  });
});

describe('update engine: deltas', () => {
  const NEXT = Buffer.concat([OLD_APP.subarray(0, 60_000), randomBytes(8000)]);

  it('installs a delta against the running image and verifies the result', async () => {
    const patch = Buffer.from(createDelta(OLD_APP, NEXT));
    const { storage, distributor, server } = await meter(patch);
    const signed = release(
      manifestFor(43, [
        { id: 'app', payload: patch, format: 'zstd-patch', precursorDigest: sha256(OLD_APP), result: NEXT },
      ]),
    );
    distributor.offer(directiveFor(signed.digest), signed);
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({ state: 'SUCCEEDED' });
    expect(activeImage(storage, e)).toBe(sha256(NEXT));
    expect(server.bytesSent).toBe(patch.length);
  });

  it('suit.precursor.mismatch-refused: before a byte is fetched', async () => {
    const other = randomBytes(OLD_APP.length);
    const patch = Buffer.from(createDelta(other, NEXT));
    const { storage, distributor, server } = await meter(patch);
    const signed = release(
      manifestFor(43, [
        { id: 'app', payload: patch, format: 'zstd-patch', precursorDigest: sha256(other), result: NEXT },
      ]),
    );
    distributor.offer(directiveFor(signed.digest), signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'PRECURSOR_MISMATCH',
    });
    expect(server.bytesSent).toBe(0);
  });

  it('DELTA_RESULT_MISMATCH when the patched image is not the signed result', async () => {
    const patch = Buffer.from(createDelta(OLD_APP, NEXT));
    const { storage, distributor } = await meter(patch);
    const wrongResult = Buffer.from(NEXT);
    wrongResult[0]! ^= 1;
    const signed = release(
      manifestFor(43, [
        {
          id: 'app',
          payload: patch,
          format: 'zstd-patch',
          precursorDigest: sha256(OLD_APP),
          result: wrongResult,
        },
      ]),
    );
    distributor.offer(directiveFor(signed.digest), signed);
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({ state: 'REJECTED', failureCode: 'DELTA_RESULT_MISMATCH' });
    expect(activeImage(storage, e)).toBe(sha256(OLD_APP));
  });
});
