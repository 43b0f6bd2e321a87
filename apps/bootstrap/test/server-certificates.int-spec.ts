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
    h = await BootstrapHarness.start();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const post = async (json: unknown, token: string | null = h.config.INTERNAL_API_TOKEN) => {
    const response = await fetch(`${h.url}${ROUTE}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token !== null && { 'x-internal-token': token }),
      },
      body: JSON.stringify(json),
    });
    return { status: response.status, body: (await response.json()) as Answer };
  };
  const csr = (key = generateKeyPair()) => {
    const request = createCsr({ privateKey: key.privateKey, subject: { commonName: 'telemetry-ingest' } });
    return { key, pem: request.pem, spki: request.spki };
  };

  it('needs the internal token: 401 without it or with another', async () => {
    const request = { csrPem: csr().pem, hostnames: HOSTNAMES };
    const missing = await post(request, null);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    const wrong = await post(request, `${h.config.INTERNAL_API_TOKEN}x`);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ code: 'UNAUTHENTICATED' });
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

  it('is not served on the device (mutual TLS) listener: 404, even with the token', async () => {
    const response = await h.device('POST', ROUTE, {
      json: { csrPem: csr().pem, hostnames: HOSTNAMES },
      headers: { 'x-internal-token': h.config.INTERNAL_API_TOKEN },
    });
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: 'NOT_FOUND' });
  });
});
