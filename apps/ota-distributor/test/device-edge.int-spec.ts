// The distributor's device edge over real mutual-TLS connections, with real meters: minted by the
// factory, enrolled, bootstrapped by meter-sim against a running platform (libs/testing's
// startPlatform and activeFleet), whose operational certificates the distributor learns from Kafka.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Body, Controller, Get, Post } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BootstrapAnswer, OTA_DEVICE_MAX_BODY_BYTES } from '@meterkeep/contracts';
import {
  createRootCa,
  exportPrivateKey,
  generateKeyPair,
  issueCertificate,
  parseCertificates,
} from '@meterkeep/pki';
import {
  type ActiveFleet,
  type DeviceClient,
  type Platform,
  activeFleet,
  deviceClient,
  runBuiltCli,
  startPlatform,
  waitUntil,
} from '@meterkeep/testing';
import type { AuthenticatedMeter } from '../src/device-api/authenticated-meter';
import { CurrentMeter } from '../src/device-api/current-meter.decorator';
import { OtaHarness } from './ota-test-kit';

/** Test-only routes behind the edge: what the edge left on the request, and the body it parsed. */
@Controller()
class WhoAmIController {
  @Get('/ota/v1/whoami')
  whoami(@CurrentMeter() meter: AuthenticatedMeter) {
    return {
      tenantId: meter.tenantId,
      deviceId: meter.deviceId,
      serial: meter.serial,
      publicKey: meter.publicKey.export({ type: 'spki', format: 'pem' }),
    };
  }

  @Post('/ota/v1/echo')
  echo(@CurrentMeter() meter: AuthenticatedMeter, @Body() body: unknown) {
    return { deviceId: meter.deviceId, body };
  }
}

/** What meter-sim kept of its bootstrap: the answer, and the key it made. */
type Operational = BootstrapAnswer & { privateKeyPem: string };

describe('ota-distributor device edge (mutual TLS)', () => {
  const logs = mkdtempSync(join(tmpdir(), 'ota-edge-logs-'));
  const runId = Date.now().toString(36).toUpperCase();
  let platform: Platform;
  let fleet: ActiveFleet;
  let ota: OtaHarness;
  let uri: string;
  let clockOffsetMs = 0;
  const clients: DeviceClient[] = [];
  const meters = () => fleet.batch.endpointNames;

  const operational = (meter: string, statesDir = fleet.batch.statesDir): Operational =>
    JSON.parse(readFileSync(join(statesDir, meter, 'operational.json'), 'utf8')) as Operational;
  const asMeter = (credential?: { keyPem: string; certificatePem: string }) => {
    const client = deviceClient(uri, platform.serverCaPem, credential);
    clients.push(client);
    return client;
  };
  const meterClient = (meter: string, statesDir = fleet.batch.statesDir) => {
    const { privateKeyPem, certificatePem } = operational(meter, statesDir);
    return asMeter({ keyPem: privateKeyPem, certificatePem });
  };
  /** Waits until the meter's next request gets `status` (the directory follows Kafka). */
  const eventually = (client: DeviceClient, status: number, description: string) =>
    waitUntil(
      async () => {
        const answer = await client.get('/ota/v1/whoami');
        return answer.status === status ? answer : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, description },
    );

  beforeAll(async () => {
    platform = await startPlatform({ logs });
    fleet = await activeFleet(platform, {
      tenantId: `ota-edge-${runId.toLowerCase()}`,
      count: 5,
      prefix: `OE${runId}M`,
    });
    ota = await OtaHarness.start({
      enrollmentUrl: platform.env.ENROLLMENT_INTERNAL_URL!,
      bootstrapUrl: platform.env.BOOTSTRAP_INTERNAL_URL!,
      controllers: [WhoAmIController],
      clock: () => new Date(Date.now() + clockOffsetMs),
      // The port bootstrap tells meters (BOOTSTRAP_OTA_URI).
      env: { OTA_TLS_PORT: platform.env.OTA_TLS_PORT! },
    });
    uri = await ota.deviceUri();
  }, 400_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await ota?.stop();
    await platform?.stop();
  });

  it("is where bootstrap sends meters, with the local stack's directive key", () => {
    const { ota: servers } = operational(meters()[0]!).servers;
    expect(servers.uri).toBe(uri);
    expect(uri).toBe(platform.otaUri);
    expect(servers.directivePublicKeysPem).toEqual([
      readFileSync(platform.env.OTA_DIRECTIVE_PUBLIC_KEYS_FILE!, 'utf8'),
    ]);
  });

  it('serves an ACTIVE meter as its certificate says: tenant, device id, serial and key', async () => {
    const meter = meters()[0]!;
    const answer = await eventually(meterClient(meter), 200, 'the meter known to the distributor');
    const certificate = parseCertificates(operational(meter).certificatePem)[0]!;
    expect(answer.body).toEqual({
      tenantId: fleet.tenantId,
      deviceId: meter,
      serial: certificate.serialHex,
      publicKey: certificate.publicKey.export({ type: 'spki', format: 'pem' }),
    });
  });

  it('asks a connection without a client certificate for one (401 CLIENT_CERTIFICATE_REQUIRED)', async () => {
    const answer = await asMeter().get('/ota/v1/whoami');
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'CLIENT_CERTIFICATE_REQUIRED' });
  });

  it("refuses a meter's name certified by another CA (401 CERTIFICATE_UNTRUSTED)", async () => {
    const now = Date.now();
    const rogueCa = createRootCa({
      subject: { commonName: 'Rogue issuing CA' },
      validity: { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) },
    });
    const keyPair = generateKeyPair();
    const certificate = issueCertificate({
      issuer: rogueCa,
      profile: 'operational-device',
      subject: { commonName: meters()[0]! },
      subjectPublicKey: keyPair.publicKey,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3_600_000),
    });
    const answer = await asMeter({
      keyPem: exportPrivateKey(keyPair.privateKey, 'pem') as string,
      certificatePem: certificate.pem,
    }).get('/ota/v1/whoami');
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'CERTIFICATE_UNTRUSTED' });
  });

  it('refuses a certificate past its notAfter by the edge clock (401 CERTIFICATE_EXPIRED)', async () => {
    const meter = meters()[4]!;
    const open = meterClient(meter);
    await eventually(open, 200, 'the meter known to the distributor');
    const notAfter = parseCertificates(operational(meter).certificatePem)[0]!.notAfter.getTime();
    clockOffsetMs = notAfter - Date.now() + 60_000;
    try {
      // A new connection (judged afresh) and the one already open (checked per request) alike.
      for (const client of [meterClient(meter), open]) {
        const answer = await client.get('/ota/v1/whoami');
        expect(answer.status).toBe(401);
        expect(answer.body).toMatchObject({ code: 'CERTIFICATE_EXPIRED' });
      }
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('refuses a superseded certificate once the meter renewed (401 CERTIFICATE_REVOKED), serves the new one', async () => {
    const meter = meters()[3]!;
    const old = meterClient(meter);
    await eventually(old, 200, 'the meter known to the distributor');
    // The meter alone renews, from a copy of its state: the old certificate stays in the fleet's.
    const renewed = mkdtempSync(join(tmpdir(), 'ota-edge-renew-'));
    cpSync(join(fleet.batch.statesDir, meter), join(renewed, meter), { recursive: true });
    await runBuiltCli('meter-sim', ['fleet', 'renew', '--state', renewed, '--json']);
    expect(operational(meter, renewed).certificatePem).not.toBe(operational(meter).certificatePem);

    const refused = await eventually(meterClient(meter), 401, 'the renewal to reach the distributor');
    expect(refused.body).toMatchObject({ code: 'CERTIFICATE_REVOKED' });
    expect((await meterClient(meter, renewed).get('/ota/v1/whoami')).status).toBe(200);
  });

  it.each([
    ['suspended', 1, 'suspend'],
    ['decommissioned', 2, 'decommission'],
  ] as const)('refuses a %s meter (403 METER_NOT_ACTIVE)', async (_, index, action) => {
    const meter = meters()[index]!;
    const client = meterClient(meter);
    await eventually(client, 200, 'the meter known to the distributor');
    expect((await fleet.api('POST', `/v1/devices/${meter}/${action}`)).status).toBe(200);
    const refused = await eventually(client, 403, `the ${action} to reach the distributor`);
    expect(refused.body).toMatchObject({ code: 'METER_NOT_ACTIVE' });
  });

  it('bounds and parses device bodies itself: 413, 415, 400', async () => {
    const client = meterClient(meters()[0]!);
    const big = JSON.stringify({ pad: 'x'.repeat(OTA_DEVICE_MAX_BODY_BYTES) });
    const declared = await client.request('POST', '/ota/v1/echo', { raw: big });
    expect(declared.status).toBe(413);
    expect(declared.body).toMatchObject({ code: 'BODY_TOO_LARGE' });
    const streamed = await meterClient(meters()[0]!).request('POST', '/ota/v1/echo', {
      raw: big,
      chunked: true,
    });
    expect(streamed.status).toBe(413);
    expect(streamed.body).toMatchObject({ code: 'BODY_TOO_LARGE' });

    const text = await client.request('POST', '/ota/v1/echo', { raw: 'state=OK', contentType: 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });

    const malformed = await client.request('POST', '/ota/v1/echo', { raw: '{"state":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'MALFORMED_JSON' });

    const fine = await client.request('POST', '/ota/v1/echo', { body: { state: 'OK' } });
    expect(fine.status).toBe(201);
    expect(fine.body).toEqual({ deviceId: meters()[0], body: { state: 'OK' } });
  });

  it('answers device paths on the plain port with 401 CLIENT_CERTIFICATE_REQUIRED', async () => {
    for (const path of ['/ota/v1/whoami', '/ota/v1/no-such-route']) {
      const answer = await ota.request('GET', path);
      expect(answer.status, path).toBe(401);
      expect(answer.body, path).toMatchObject({ code: 'CLIENT_CERTIFICATE_REQUIRED' });
    }
  });

  it('serves no operator route or probe on the device port', async () => {
    const client = meterClient(meters()[0]!);
    for (const path of ['/v1/device-classes', '/health/ready']) {
      const answer = await client.get(path);
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it('tells a real meter to retry later while the directory has not caught up (503 NOT_YET_KNOWN)', async () => {
    const behind = await OtaHarness.start({
      enrollmentUrl: platform.env.ENROLLMENT_INTERNAL_URL!,
      bootstrapUrl: platform.env.BOOTSTRAP_INTERNAL_URL!,
      controllers: [WhoAmIController],
      followDeviceTopics: false,
    });
    try {
      const { privateKeyPem, certificatePem } = operational(meters()[0]!);
      const client = deviceClient(await behind.deviceUri(), platform.serverCaPem, {
        keyPem: privateKeyPem,
        certificatePem,
      });
      clients.push(client);
      const answer = await client.get('/ota/v1/whoami');
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe('5');
      expect(answer.body).toMatchObject({ code: 'NOT_YET_KNOWN' });
    } finally {
      await behind.stop();
    }
  });
});
