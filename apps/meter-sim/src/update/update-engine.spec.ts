import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdOf, verifyReceipt } from '@meterkeep/firmware';
import { slotFile } from './update-state';
import {
  DAY,
  KEYS,
  NEW_APP,
  NOW,
  OLD_APP,
  ScriptedDistributor,
  activeImage,
  digestOf,
  directiveFor,
  engine,
  manifestFor,
  meter,
  newKey,
  offer,
  release,
  releaseUnchecked,
  sha256,
  stopServers,
} from '../../test/update-test-kit';

afterEach(stopServers);

describe('update engine: the whole path', () => {
  it('installs into the inactive slot, confirms, advances the counter and signs a receipt', async () => {
    const { storage, distributor, server } = await meter();
    const { directive, signed } = offer(distributor, 43);
    const e = engine(storage, distributor);

    const outcome = await e.runOnce();

    expect(outcome).toMatchObject({ state: 'SUCCEEDED', bytesFetched: NEW_APP.length });
    expect(server.bytesSent).toBe(NEW_APP.length);
    expect(e.snapshot.components.app).toMatchObject({
      activeSlot: 'B',
      installedSequence: 43,
      installedManifestDigest: signed.digest,
      version: '1.0.43',
    });
    expect(activeImage(storage, e)).toBe(sha256(NEW_APP));
    const receipt = verifyReceipt(distributor.receipts[0]!, KEYS.operational.publicKey, {
      deviceId: 'MTR-000001',
      executionId: directive.executionId,
      nonce: directive.nonce,
    });
    expect(receipt).toMatchObject({
      ok: true,
      receipt: { bootedSlot: 'B', bootedImageDigests: { app: sha256(NEW_APP) } },
    });
    expect(distributor.statuses.map((s) => s.state)).toEqual([
      'NOTIFIED',
      'DOWNLOADING',
      'DOWNLOADED',
      'VERIFYING',
      'VERIFIED',
      'INSTALLING',
      'REBOOTING',
      'CONFIRMING',
      'SUCCEEDED',
    ]);
    expect(distributor.statuses.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('suit.location.slot-from-device-state-only: the next update goes back to slot A', async () => {
    const { storage, distributor, server } = await meter();
    offer(distributor, 43);
    await engine(storage, distributor).runOnce();
    const next = randomBytes(1000);
    server.mode = { kind: 'serve', bytes: next };
    offer(distributor, 44, next);
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({ state: 'SUCCEEDED' });
    expect(e.snapshot.components.app!.activeSlot).toBe('A');
    expect(digestOf(storage.readBytes(slotFile('app', 'A')))).toBe(sha256(next));
    expect(digestOf(storage.readBytes(slotFile('app', 'B')))).toBe(sha256(NEW_APP));
  });
});

describe('update engine: signatures (Uptane arbitrary software, SUIT non-auth)', () => {
  it('uptane.arbitrary.directive-without-manifest-sig-refused', async () => {
    const { storage, distributor, server } = await meter();
    const forged = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]), KEYS.rogue.privateKey);
    distributor.offer(directiveFor(forged.digest), forged);
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'MANIFEST_SIGNATURE_INVALID',
      bytesFetched: 0,
    });
    expect(server.bytesSent).toBe(0);
    expect(activeImage(storage, e)).toBe(sha256(OLD_APP));
  });

  it('uptane.arbitrary.manifest-without-directive-refused', async () => {
    const { storage, distributor, server } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    distributor.offer(directiveFor(signed.digest), signed, KEYS.rogue.privateKey);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'DIRECTIVE_SIGNATURE_INVALID',
    });
    expect(distributor.manifestFetches).toBe(0);
    expect(server.bytesSent).toBe(0);
  });

  it('suit.non-auth.extra-field-unsigned-refused', async () => {
    const { storage, distributor } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    const envelope = JSON.parse(signed.envelope.toString('utf8')) as { manifest: Record<string, unknown> };
    envelope.manifest.installHook = 'rm -rf /';
    distributor.offer(directiveFor(signed.digest), {
      envelope: Buffer.from(JSON.stringify(envelope)),
      digest: signed.digest,
    });
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'MANIFEST_MALFORMED',
    });
  });
});

describe('update engine: directive checks (Uptane freeze, rollback, wrong software)', () => {
  it('uptane.freeze.stale-directive-refused', async () => {
    const { storage, distributor } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    const stale = directiveFor(signed.digest, {
      issuedAt: new Date(NOW.getTime() - 3 * DAY).toISOString(),
      expiresAt: new Date(NOW.getTime() - 2 * DAY).toISOString(),
    });
    distributor.offer(stale, signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'DIRECTIVE_EXPIRED',
    });
  });

  it('uptane.rollback.directive-version-monotonic', async () => {
    const { storage, distributor } = await meter();
    const { directive, signed } = offer(distributor, 43);
    await engine(storage, distributor).runOnce();
    distributor.offer({ ...directiveFor(signed.digest), counter: directive.counter - 1 }, signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'DIRECTIVE_COUNTER_ROLLBACK',
    });
  });

  it('pinned directive keys: a directive under the next key of a rotation verifies, under neither is refused', async () => {
    const next = newKey();
    const { storage, distributor } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    const trust = {
      directivePublicKeys: [KEYS.directive.publicKey, next.publicKey],
      rootPublicKeys: [KEYS.authority.publicKey],
      operationalPrivateKey: KEYS.operational.privateKey,
    };
    distributor.offer(directiveFor(signed.digest), signed, KEYS.rogue.privateKey);
    expect(await engine(storage, distributor, { trust }).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'DIRECTIVE_SIGNATURE_INVALID',
    });
    distributor.offer(directiveFor(signed.digest), signed, next.privateKey);
    expect(await engine(storage, distributor, { trust }).runOnce()).toMatchObject({ state: 'SUCCEEDED' });
    // Pinned to the current key only, the next one's directive is refused.
    const { storage: other, distributor: only } = await meter();
    only.offer(directiveFor(signed.digest), signed, next.privateKey);
    expect(await engine(other, only).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'DIRECTIVE_SIGNATURE_INVALID',
    });
  });

  it("the check-in's server time anchors the trusted clock: a directive expired by it is refused", async () => {
    const { storage, distributor } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    // Valid at the meter's last known time (NOW), expired at the server's time two days later.
    distributor.offer(directiveFor(signed.digest), signed);
    distributor.serverTime = new Date(NOW.getTime() + 2 * DAY);
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({ state: 'REJECTED', failureCode: 'DIRECTIVE_EXPIRED' });
    expect(e.trustedNow().getTime()).toBeGreaterThanOrEqual(NOW.getTime() + 2 * DAY);
    // The anchor is persisted: a restarted meter starts from it, and an older server time never moves it back.
    distributor.directive = undefined;
    distributor.serverTime = NOW;
    const restarted = engine(storage, distributor);
    expect(await restarted.runOnce()).toMatchObject({ state: 'IDLE' });
    expect(restarted.trustedNow().getTime()).toBeGreaterThanOrEqual(NOW.getTime() + 2 * DAY);
  });

  it("passes the server's poll interval on in the run's outcome", async () => {
    const { storage, distributor } = await meter();
    distributor.pollAfterSeconds = 1234;
    expect(await engine(storage, distributor).runOnce()).toEqual({
      state: 'IDLE',
      bytesFetched: 0,
      pollAfterSeconds: 1234,
    });
  });

  it('DIRECTIVE_MALFORMED for bytes that are no signed directive', async () => {
    const { storage, distributor } = await meter();
    distributor.directive = Buffer.from('{"directive":');
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'DIRECTIVE_MALFORMED',
    });
  });

  it('uptane.wrong-software.directive-device-id-bound', async () => {
    const { storage, distributor } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    distributor.offer(directiveFor(signed.digest, { deviceId: 'MTR-000002' }), signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'DIRECTIVE_DEVICE_MISMATCH',
    });
  });

  it('uptane.mix-and-match.refused: a manifest other than the one the directive names', async () => {
    const { storage, distributor, server } = await meter();
    const named = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    const other = release(manifestFor(44, [{ id: 'app', payload: randomBytes(100) }]));
    distributor.offer(directiveFor(named.digest), other);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'MIX_AND_MATCH',
    });
    expect(server.bytesSent).toBe(0);
  });
});

describe('update engine: manifest checks against the device', () => {
  it('suit.incompatible.vendor-mismatch-refused', async () => {
    const { storage, distributor } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }], { vendorId: 'other-vendor' }));
    distributor.offer(directiveFor(signed.digest), signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'VENDOR_MISMATCH',
    });
  });

  it('suit.incompatible.class-mismatch-refused', async () => {
    const { storage, distributor } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }], { classId: 'em300-v3' }));
    distributor.offer(directiveFor(signed.digest), signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'CLASS_MISMATCH',
    });
  });

  it('suit.img-expired.lower-sequence-refused, with the counter surviving a restart', async () => {
    const { storage, distributor, server } = await meter();
    offer(distributor, 43);
    await engine(storage, distributor).runOnce();
    const sent = server.bytesSent;
    offer(distributor, 43, randomBytes(500)); // another manifest, same sequence
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'SEQUENCE_ROLLBACK',
    });
    offer(distributor, 12, randomBytes(500));
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'SEQUENCE_ROLLBACK',
    });
    expect(server.bytesSent).toBe(sent);
  });

  it('suit.img-expired-offline.expired-manifest-refused: 120 days off, wall clock skewed back', async () => {
    const { storage, distributor } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }])); // expires NOW + 89 days
    const issued = NOW.getTime() + 120 * DAY - 3600_000;
    distributor.offer(
      directiveFor(signed.digest, {
        issuedAt: new Date(issued).toISOString(),
        expiresAt: new Date(issued + DAY).toISOString(),
      }),
      signed,
    );
    const e = engine(storage, distributor, {
      faults: { failRate: 0, bootFailRate: 0, offlineDays: 120, clockSkewMs: -120 * DAY },
    });
    expect(e.wallClock().getTime()).toBeLessThan(NOW.getTime());
    expect(await e.runOnce()).toMatchObject({ state: 'REJECTED', failureCode: 'MANIFEST_EXPIRED' });
  });

  it('suit.format.unknown-format-refused', async () => {
    const { storage, distributor } = await meter();
    const manifest = manifestFor(43, [{ id: 'app', payload: NEW_APP, format: 'bsdiff-zstd' }]);
    const signed = releaseUnchecked(manifest);
    distributor.offer(directiveFor(signed.digest), signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'FORMAT_UNSUPPORTED',
    });
  });

  it('suit.location.unknown-component-refused: metrology on a meter without one', async () => {
    const { storage, distributor, server } = await meter();
    const signed = release(manifestFor(43, [{ id: 'metrology', payload: NEW_APP }]));
    distributor.offer(directiveFor(signed.digest), signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'COMPONENT_UNKNOWN',
    });
    expect(server.bytesSent).toBe(0);
  });

  it('sim.already-installed-no-download', async () => {
    const { storage, distributor, server } = await meter();
    const { signed } = offer(distributor, 43);
    await engine(storage, distributor).runOnce();
    const sent = server.bytesSent;
    const again = directiveFor(signed.digest);
    distributor.offer(again, signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'SUCCEEDED',
      failureCode: 'ALREADY_INSTALLED',
      bytesFetched: 0,
    });
    expect(server.bytesSent).toBe(sent);
    // The receipt is signed again for the new execution (a lost one is recovered).
    expect(
      verifyReceipt(distributor.receipts.at(-1)!, KEYS.operational.publicKey, {
        deviceId: 'MTR-000001',
        executionId: again.executionId,
        nonce: again.nonce,
      }).ok,
    ).toBe(true);
  });
});

describe('update engine: what the distributor answers later', () => {
  it('suit.toctou.verified-copy-used: manifest bytes changed after verification are never read', async () => {
    const { storage, distributor } = await meter();
    const { signed } = offer(distributor, 43);
    const other = release(manifestFor(99, [{ id: 'app', payload: randomBytes(100) }]));
    distributor.onStatus = (status) => {
      if (status.state === 'DOWNLOADING') distributor.manifest = other.envelope;
    };
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({ state: 'SUCCEEDED' });
    expect(distributor.manifestFetches).toBe(1);
    expect(e.snapshot.components.app).toMatchObject({
      installedSequence: 43,
      installedManifestDigest: signed.digest,
    });
  });

  it('e2e.lost-receipt-recovered-by-next-checkin (device side): the receipt is signed again with the new nonce', async () => {
    const { storage, distributor, server } = await meter();
    const { directive, signed } = offer(distributor, 43);
    distributor.postReceipt = () => Promise.reject(new Error('connection reset'));
    expect(await engine(storage, distributor).runOnce()).toMatchObject({ state: 'SUCCEEDED' });
    const sent = server.bytesSent;
    distributor.postReceipt = ScriptedDistributor.prototype.postReceipt.bind(distributor);
    const reissued = { ...directive, nonce: 'fresh-nonce-fresh-nonce-1', counter: directive.counter + 1 };
    distributor.offer(reissued, signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'SUCCEEDED',
      bytesFetched: 0,
    });
    expect(server.bytesSent).toBe(sent);
    expect(
      verifyReceipt(distributor.receipts[0]!, KEYS.operational.publicKey, {
        deviceId: 'MTR-000001',
        executionId: directive.executionId,
        nonce: reissued.nonce,
      }),
    ).toMatchObject({ ok: true, receipt: { sequenceNumber: 43, bootedSlot: 'B' } });
  });

  it('a status report that fails does not stop the update', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    distributor.onStatus = () => {
      throw new Error('503');
    };
    expect(await engine(storage, distributor).runOnce()).toMatchObject({ state: 'SUCCEEDED' });
  });
});

describe('update engine: directive action types and windows', () => {
  it('downloadonly: verified and held, no slot written, nothing fetched again when released', async () => {
    const { storage, distributor, server } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    const held = directiveFor(signed.digest, { actionType: 'downloadonly' });
    distributor.offer(held, signed);
    const e = engine(storage, distributor);
    expect(await e.runOnce()).toMatchObject({ state: 'DOWNLOAD_ONLY_HOLD', bytesFetched: NEW_APP.length });
    expect(storage.has('slot-app-B.bin')).toBe(false);
    expect(e.snapshot.components.app).toMatchObject({ activeSlot: 'A' });

    distributor.offer({ ...held, actionType: 'soft', counter: held.counter + 1 }, signed);
    expect(await engine(storage, distributor).runOnce()).toMatchObject({
      state: 'SUCCEEDED',
      bytesFetched: 0,
    });
    expect(server.bytesSent).toBe(NEW_APP.length);
  });

  it('waits for the maintenance window by trusted time, then installs without fetching again', async () => {
    const { storage, distributor, server } = await meter();
    const signed = release(manifestFor(43, [{ id: 'app', payload: NEW_APP }]));
    const startsAt = new Date(NOW.getTime() + 2 * 3600_000);
    distributor.offer(
      directiveFor(signed.digest, {
        window: {
          startsAt: startsAt.toISOString(),
          endsAt: new Date(startsAt.getTime() + 3600_000).toISOString(),
        },
      }),
      signed,
    );
    let t = 0;
    expect(await engine(storage, distributor, { monotonicMs: () => t }).runOnce()).toMatchObject({
      state: 'WAITING_WINDOW',
    });
    const later = engine(storage, distributor, { monotonicMs: () => t });
    t = 3 * 3600_000;
    expect(await later.runOnce()).toMatchObject({ state: 'SUCCEEDED', bytesFetched: 0 });
    expect(server.bytesSent).toBe(NEW_APP.length);
    expect(storage.has('staged-app.bin')).toBe(false);
  });
});

describe('update engine: signing policy and revocation', () => {
  it('suit.keys.revoked-signing-key-refused', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    const e = engine(storage, distributor, {
      trust: {
        directivePublicKeys: [KEYS.directive.publicKey],
        rootPublicKeys: [KEYS.authority.publicKey],
        revokedKeyIds: new Set([keyIdOf(KEYS.authority.publicKey)]),
        operationalPrivateKey: KEYS.operational.privateKey,
      },
    });
    expect(await e.runOnce()).toMatchObject({ state: 'REJECTED', failureCode: 'SIGNING_KEY_REVOKED' });
  });

  it('suit.rights.second-signature-required-when-policy-says', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    const e = engine(storage, distributor, {
      trust: {
        directivePublicKeys: [KEYS.directive.publicKey],
        rootPublicKeys: [KEYS.authority.publicKey],
        requiredSignatures: (component) => (component === 'app' ? 2 : 1),
        operationalPrivateKey: KEYS.operational.privateKey,
      },
    });
    expect(await e.runOnce()).toMatchObject({
      state: 'REJECTED',
      failureCode: 'MANIFEST_SIGNATURES_INSUFFICIENT',
    });
  });
});
