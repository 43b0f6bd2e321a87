import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCsr,
  exportPrivateKey,
  generateKeyPair,
  parseCertificate,
  validateChain,
} from '@meterkeep/pki';
import { type ServiceIdentityPems, mintPlatformCa, mintServiceIdentity } from '@meterkeep/testing';
import { BootstrapHarness } from './bootstrap-test-kit';

interface Answer {
  certificatePem: string;
  chainPem: string[];
  notAfter: string;
  code?: string;
}

const ROUTE = '/internal/v1/server-certificates';
const HOSTNAMES = ['telemetry.meters.test', 'telemetry-ingest', '10.20.30.40'];

describe('internal: server certificates for the operational servers', () => {
  let h: BootstrapHarness;

  beforeAll(async () => {
    h = await BootstrapHarness.start({
      env: {
        BOOTSTRAP_SERVER_CERT_HOSTNAMES: JSON.stringify({
          'telemetry-ingest': HOSTNAMES,
          'ota-distributor': ['ota.meters.test'],
        }),
      },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** A call on the internal listener as service `as` (its platform certificate), or with none. */
  const post = (json: unknown, as: string | ServiceIdentityPems | null = 'telemetry-ingest') =>
    h.internal<Answer>(ROUTE, json, as);
  const csr = (key = generateKeyPair()) => {
    const request = createCsr({ privateKey: key.privateKey, subject: { commonName: 'telemetry-ingest' } });
    return { key, pem: request.pem, spki: request.spki };
  };

  it('answers the ingest and OTA only: another service gets 403 CALLER_NOT_ALLOWED', async () => {
    for (const other of ['enrollment', 'privacy', 'meter-sim']) {
      const refused = await post({ csrPem: csr().pem, hostnames: HOSTNAMES }, other);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'CALLER_NOT_ALLOWED' });
      expect(refused.body).not.toHaveProperty('certificatePem');
    }
  });

  it('refuses a client without a certificate, or with one from another CA, in the TLS handshake', async () => {
    await expect(post({ csrPem: csr().pem, hostnames: HOSTNAMES }, null)).rejects.toThrow(
      /certificate required|socket hang up|ECONNRESET/,
    );
    // A certificate naming the ingest, from a CA of its own: OpenSSL refuses it before any route.
    const foreignCa = mintPlatformCa('Not the platform CA');
    const forged = mintServiceIdentity(foreignCa, 'telemetry-ingest');
    await expect(post({ csrPem: csr().pem, hostnames: HOSTNAMES }, forged)).rejects.toThrow(
      /unknown ca|socket hang up|ECONNRESET/,
    );
  });

  it('signs only the host names configured for the caller: 403 HOSTNAME_NOT_ALLOWED, nothing issued', async () => {
    // OTA asks for the ingest's names; the ingest slips one name of its own among its configured ones.
    const asOta = await post({ csrPem: csr().pem, hostnames: ['telemetry.meters.test'] }, 'ota-distributor');
    expect(asOta.status).toBe(403);
    expect(asOta.body).toMatchObject({
      code: 'HOSTNAME_NOT_ALLOWED',
      details: { caller: 'ota-distributor', hostnames: ['telemetry.meters.test'] },
    });
    const extra = await post({ csrPem: csr().pem, hostnames: [...HOSTNAMES, 'bank.example'] });
    expect(extra.status).toBe(403);
    expect(extra.body).toMatchObject({
      code: 'HOSTNAME_NOT_ALLOWED',
      details: { caller: 'telemetry-ingest', hostnames: ['bank.example'] },
    });
    expect(extra.body).not.toHaveProperty('certificatePem');
    // Each caller still gets its own names (case aside).
    const own = await post({ csrPem: csr().pem, hostnames: ['OTA.meters.test'] }, 'ota-distributor');
    expect(own.status).toBe(200);
  });

  it('issues a 7-day server certificate for the CSR key and the hostnames, chaining to the server CA', async () => {
    const request = csr();
    const response = await post({ csrPem: request.pem, hostnames: HOSTNAMES });
    expect(response.status).toBe(200);
    const answer = response.body;
    expect(answer.chainPem).toEqual([h.serverCaPem]);
    const certificate = parseCertificate(answer.certificatePem);
    const ca = parseCertificate(answer.chainPem[0]!);
    const path = validateChain({
      leaf: certificate,
      intermediates: [],
      trustAnchors: [ca],
      at: new Date(),
      requiredEku: 'serverAuth',
    });
    expect(path.path).toHaveLength(2);
    expect(certificate.extensions.subjectAltName?.dns).toEqual(['telemetry.meters.test', 'telemetry-ingest']);
    expect(certificate.extensions.subjectAltName?.ip).toEqual(['10.20.30.40']);
    expect(certificate.subject.commonName).toBe('telemetry.meters.test');
    expect(certificate.spki.equals(request.spki)).toBe(true);
    expect(certificate.notAfter.getTime() - certificate.notBefore.getTime()).toBe(7 * 86_400_000);
    expect(answer.notAfter).toBe(certificate.notAfter.toISOString());

    // A TLS client that trusts the server CA (as meters do) accepts a server using it, by its name.
    const server = createServer(
      { key: exportPrivateKey(request.key.privateKey, 'pem'), cert: answer.certificatePem },
      (_request, res) => res.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port, servername: 'telemetry.meters.test', ca: h.serverCaPem },
          () => {
            resolve(socket.authorized);
            socket.end();
          },
        );
        socket.on('error', reject);
      });
      expect(authorized).toBe(true);
    } finally {
      server.close();
    }
  });

  it('refuses a CSR whose signature does not verify: 400 CSR_INVALID', async () => {
    // The same request with one character of its subject changed: well-formed, no longer signed.
    const der = Buffer.from(
      csr()
        .pem.replace(/-----[^-]+-----/g, '')
        .replace(/\s/g, ''),
      'base64',
    );
    const at = der.indexOf(Buffer.from('telemetry-ingest'));
    expect(at).toBeGreaterThan(0);
    der[at] = 'x'.charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const response = await post({ csrPem: tampered, hostnames: HOSTNAMES });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'CSR_INVALID' });
  });

  it('refuses hostnames that are no DNS names or IP addresses, and too many: 400 INVALID_REQUEST', async () => {
    for (const hostnames of [[], ['not a host'], Array.from({ length: 21 }, (_, i) => `h${i}.test`)]) {
      const response = await post({ csrPem: csr().pem, hostnames });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 'INVALID_REQUEST' });
    }
  });

  it('is served on the internal listener only: 404 on the plain and the device listeners', async () => {
    const body = JSON.stringify({ csrPem: csr().pem, hostnames: HOSTNAMES });
    const plain = await fetch(`${h.url}${ROUTE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(plain.status).toBe(404);
    const device = await h.device('POST', ROUTE, { json: JSON.parse(body) });
    expect(device.status).toBe(404);
    expect(device.body).toMatchObject({ code: 'NOT_FOUND' });
  });
});
