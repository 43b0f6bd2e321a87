import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PowerLoss, type InstallStep } from './update-engine';
import { type UpdateFaults, FaultOptionError, NO_FAULTS, parseUpdateFaults } from './update-faults';
import { slotFile } from './update-state';
import {
  NEW_APP,
  OLD_APP,
  activeImage,
  digestOf,
  directiveFor,
  engine,
  imageServer,
  manifestFor,
  meter,
  offer,
  release,
  sha256,
  stopServers,
} from '../../test/update-test-kit';

afterEach(stopServers);

const faults = (overrides: Partial<UpdateFaults>): UpdateFaults => ({ ...NO_FAULTS, ...overrides });
const cutPowerAt = (at: InstallStep) => (step: InstallStep) => {
  if (step === at) throw new PowerLoss(step);
};

describe('update engine: boot, confirmation and rollback', () => {
  it('suit.replace.boot-verify-fails-then-rollback: a slot changed after install is not booted', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    // Power is lost right after the meter recorded that it reboots into slot B.
    distributor.onStatus = (status) => {
      if (status.state === 'REBOOTING') throw new PowerLoss('before-activate');
    };
    await expect(engine(storage, distributor).runOnce()).rejects.toBeInstanceOf(PowerLoss);
    distributor.onStatus = undefined;
    const swapped = Buffer.from(NEW_APP);
    swapped[0]! ^= 0xff;
    writeFileSync(storage.pathOf(slotFile('app', 'B')), swapped);

    const rebooted = engine(storage, distributor);
    expect(await rebooted.boot()).toMatchObject({ state: 'ROLLED_BACK', failureCode: 'BOOT_VERIFY_FAILED' });
    expect(rebooted.snapshot.components.app).toMatchObject({ activeSlot: 'A' });
    expect(rebooted.snapshot.components.app!.installedSequence).toBeUndefined();
    expect(activeImage(storage, rebooted)).toBe(sha256(OLD_APP));
    expect(distributor.receipts).toHaveLength(0);
  });

  it('HEALTH_CHECK_FAILED (--ota-fail-rate 1) rolls back to the old slot', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    const e = engine(storage, distributor, { faults: faults({ failRate: 1 }) });
    expect(await e.runOnce()).toMatchObject({ state: 'ROLLED_BACK', failureCode: 'HEALTH_CHECK_FAILED' });
    expect(e.snapshot.components.app).toMatchObject({ activeSlot: 'A' });
    expect(distributor.receipts).toHaveLength(0);
  });

  it('BOOT_CONFIRM_TIMEOUT (--ota-boot-fail-rate 1) rolls back to the old slot', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    const e = engine(storage, distributor, { faults: faults({ bootFailRate: 1 }) });
    expect(await e.runOnce()).toMatchObject({ state: 'ROLLED_BACK', failureCode: 'BOOT_CONFIRM_TIMEOUT' });
    expect(activeImage(storage, e)).toBe(sha256(OLD_APP));
  });

  it('BOOT_CONFIRM_TIMEOUT when confirmation comes later than the timeout after the reboot', async () => {
    const { storage, distributor } = await meter();
    offer(distributor, 43);
    distributor.onStatus = (status) => {
      if (status.state === 'REBOOTING') throw new PowerLoss('before-activate');
    };
    await expect(engine(storage, distributor).runOnce()).rejects.toBeInstanceOf(PowerLoss);
    distributor.onStatus = undefined;
    let t = 0;
    const hung = engine(storage, distributor, { monotonicMs: () => t });
    t = 11 * 60_000; // the new image hung for 11 minutes before its health check ran
    expect(await hung.boot()).toMatchObject({ state: 'ROLLED_BACK', failureCode: 'BOOT_CONFIRM_TIMEOUT' });
  });

  it('uptane.fast-forward.counter-persisted-only-after-confirm', async () => {
    const { storage, distributor, server } = await meter();
    // A release with a very high sequence that never confirms must not raise the counter...
    offer(distributor, 1_000_000);
    const failed = engine(storage, distributor, { faults: faults({ bootFailRate: 1 }) });
    expect(await failed.runOnce()).toMatchObject({ state: 'ROLLED_BACK' });
    expect(failed.snapshot.components.app!.installedSequence).toBeUndefined();
    // ...so an honest later release with a normal sequence still installs.
    const next = randomBytes(2000);
    server.mode = { kind: 'serve', bytes: next };
    offer(distributor, 44, next);
    const honest = engine(storage, distributor);
    expect(await honest.runOnce()).toMatchObject({ state: 'SUCCEEDED' });
    expect(honest.snapshot.components.app!.installedSequence).toBe(44);
  });
});

describe('update engine: power loss during install', () => {
  for (const step of ['before-slot-write', 'after-slot-write', 'before-activate'] as const) {
    it(`sim.power-loss.during-install-boots-old-slot (${step})`, async () => {
      const { storage, distributor } = await meter();
      offer(distributor, 43);
      await expect(
        engine(storage, distributor, { onInstallStep: cutPowerAt(step) }).runOnce(),
      ).rejects.toBeInstanceOf(PowerLoss);
      // A torn temp file of the slot being written, as a cut mid-write leaves.
      writeFileSync(storage.pathOf(`${slotFile('app', 'B')}.tmp`), NEW_APP.subarray(0, 1000));

      const restarted = engine(storage, distributor);
      expect(await restarted.boot()).toMatchObject({ state: 'FAILED', failureCode: 'INSTALL_WRITE_FAILED' });
      expect(restarted.snapshot.components.app).toMatchObject({ activeSlot: 'A' });
      expect(activeImage(storage, restarted)).toBe(sha256(OLD_APP));
      expect(restarted.snapshot.components.app!.installedSequence).toBeUndefined();
      // The execution then runs again from its directive and completes.
      expect(await restarted.runOnce()).toMatchObject({ state: 'SUCCEEDED' });
      expect(activeImage(storage, restarted)).toBe(sha256(NEW_APP));
    });
  }

  it('uptane.partial-bundle.none-activated: power cut between two components', async () => {
    const { storage, distributor } = await meter();
    const modem = randomBytes(3000);
    distributor.urls.app = (await imageServer(NEW_APP)).url;
    distributor.urls.modem = (await imageServer(modem)).url;
    const signed = release(
      manifestFor(43, [
        { id: 'app', payload: NEW_APP },
        { id: 'modem', payload: modem },
      ]),
    );
    distributor.offer(directiveFor(signed.digest), signed);
    let writes = 0;
    const secondWrite = (step: InstallStep) => {
      if (step === 'before-slot-write' && ++writes === 2) throw new PowerLoss(step);
    };
    await expect(
      engine(storage, distributor, { onInstallStep: secondWrite }).runOnce(),
    ).rejects.toBeInstanceOf(PowerLoss);
    const restarted = engine(storage, distributor);
    await restarted.boot();
    expect(restarted.snapshot.components.app).toMatchObject({ activeSlot: 'A' });
    expect(restarted.snapshot.components.modem).toMatchObject({ activeSlot: 'A' });

    expect(await restarted.runOnce()).toMatchObject({ state: 'SUCCEEDED' });
    expect(restarted.snapshot.components.app).toMatchObject({ activeSlot: 'B', installedSequence: 43 });
    expect(restarted.snapshot.components.modem).toMatchObject({ activeSlot: 'B', installedSequence: 43 });
    expect(digestOf(storage.readBytes(slotFile('modem', 'B')))).toBe(sha256(modem));
  });
});

describe('fault injection flags', () => {
  it('parses the --ota-* flags, both spellings', () => {
    expect(
      parseUpdateFaults([
        '--ota-fail-rate',
        '0.1',
        '--ota-boot-fail-rate=0.05',
        '--ota-slow-bps',
        '2048',
        '--ota-drop-at-bytes=100000',
        '--ota-offline-days',
        '120',
        '--ota-clock-skew=-3600000',
        '--other',
        'x',
      ]),
    ).toEqual({
      failRate: 0.1,
      bootFailRate: 0.05,
      slowBytesPerSecond: 2048,
      dropAtBytes: 100000,
      offlineDays: 120,
      clockSkewMs: -3600000,
    });
  });

  it('refuses a rate above 1 or a missing value, naming the flag', () => {
    expect(() => parseUpdateFaults(['--ota-fail-rate', '1.5'])).toThrow(FaultOptionError);
    expect(() => parseUpdateFaults(['--ota-drop-at-bytes'])).toThrow(/--ota-drop-at-bytes/);
  });
});
