import { spawn } from 'node:child_process';
import { sign } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpErrorBody } from '@meterkeep/contracts';
import { der, encodeName, exportPrivateKey, generateKeyPair, spkiOf, toPem } from '@meterkeep/pki';
import { BootstrapHarness, csrFor, waitUntil } from './bootstrap-test-kit';

const DAY = 86_400_000;
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/**
 * What a hostile client can present: a self-signed certificate (its key is the client's own, so the
 * handshake completes) whose one extension has an OID with a 60 KB arc.
 */
function longOidCertificate() {
  const key = generateKeyPair();
  const arc = Buffer.alloc(60_000, 0xff);
  arc[arc.length - 1] = 0x7f;
  const longOid = der.tlv(der.TAG.OID, Buffer.concat([Buffer.from([0x2a]), arc]));
  const algorithm = der.sequence(der.oid('1.2.840.10045.4.3.2'));
  const name = encodeName({ commonName: 'MTR-HOSTILE' });
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.integer(1),
    algorithm,
    name,
    der.sequence(der.time(new Date(Date.now() - DAY)), der.time(new Date(Date.now() + DAY))),
    name,
    spkiOf(key.publicKey),
    der.explicit(3, der.sequence(der.sequence(longOid, der.octetString(der.nullValue())))),
  );
  const certificate = der.sequence(tbs, algorithm, der.bitString(sign('sha256', tbs, key.privateKey)));
  return {
    keyPem: exportPrivateKey(key.privateKey, 'pem') as string,
    certPem: toPem(certificate, 'CERTIFICATE'),
  };
}

describe('bootstrap: a hostile client certificate costs little before any trust decision', () => {
  let h: BootstrapHarness;
  beforeAll(async () => {
    h = await BootstrapHarness.start();
    await h.waitCaughtUp();
  });
  afterAll(async () => {
    await h?.stop();
  });

  function hostileBootstrap(credential: { keyPem: string; certPem: string }, csrPem: string) {
    const body = JSON.stringify({ csrPem });
    return new Promise<{ status: number; body: Partial<HttpErrorBody> }>((resolve, reject) => {
      const request = httpsRequest(
        {
          host: '127.0.0.1',
          port: h.tlsPort,
          method: 'POST',
          path: '/bs/v1/bootstrap',
          servername: 'localhost',
          ca: h.serverCaPem,
          agent: false,
          key: credential.keyPem,
          cert: credential.certPem,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString()) as Partial<HttpErrorBody>,
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Times of `count` readiness probes, 50 ms apart; each must answer 200 (ready). */
  async function probeReadiness(count: number): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = process.hrtime.bigint();
      const status = await new Promise<number>((resolve, reject) => {
        httpRequest(`${h.url}/health/ready`, { agent: false }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        })
          .on('error', reject)
          .end();
      });
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      expect(status).toBe(200);
    }
    return times;
  }

  it('refuses a certificate with a 60 KB OID (403 CERTIFICATE_INVALID), bounded before parsing, while /health/ready keeps answering', async () => {
    const credential = longOidCertificate();
    const { pem: csrPem } = csrFor('MTR-HOSTILE');
    const first = await hostileBootstrap(credential, csrPem);
    expect(first).toMatchObject({ status: 403, body: { code: 'CERTIFICATE_INVALID' } });
    // The answer is the uniform pre-authentication refusal; the reason is in the log only.
    expect(first.body.message).toBe('The client certificate is not trusted for bootstrap');
    expect(h.logs.some((line) => /OID longer than 64 octets|larger than 16384 bytes/.test(line))).toBe(true);

    // Without the flood first: on a loaded machine the probe itself is slow, and that is not the attack.
    const baseline = await probeReadiness(11);
    // The client in its own process, as an attacker is: its TLS work does not land on this event loop.
    const client = spawn(process.execPath, ['--input-type=module', '-e', HOSTILE_CLIENT], {
      env: { ...process.env, PORT: String(h.tlsPort), CA: h.serverCaPem, CSR: csrPem, ...credential },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let refused = 0;
    client.stdout.on('data', (chunk: Buffer) => {
      for (const status of chunk.toString().split('\n').filter(Boolean)) {
        expect(status).toBe('403');
        refused++;
      }
    });
    const loop = monitorEventLoopDelay({ resolution: 5 });
    const probes: number[] = [];
    try {
      await waitUntil(() => refused >= 3, { timeoutMs: 30_000, description: 'the hostile client running' });
      loop.enable();
      probes.push(...(await probeReadiness(21)));
    } finally {
      client.kill();
      loop.disable();
    }
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    console.log(
      `${refused} refusals; /health/ready under the flood: median ${ms(median(probes))}, ` +
        `max ${ms(Math.max(...probes))}; without it: median ${ms(median(baseline))}; ` +
        `event-loop delay p99 ${ms(loop.percentile(99) / 1e6)}, max ${ms(loop.max / 1e6)}`,
    );
    // Before the fix each refusal held the event loop ~0.5 s. What the fix does (the size and OID bounds
    // checked before any arc is read) is asserted by its order in libs/pki/src/limits.spec.ts and by the
    // refusal reason logged above; the time it saves is measured in test/bench/pki-limits, not here.
    expect(refused).toBeGreaterThan(10);
    expect(probes).toHaveLength(21);
  });
});

/** Sends the certificate in a loop, one request per fresh connection, and prints each status. */
const HOSTILE_CLIENT = `
import { request } from 'node:https';
const { PORT, CA, CSR, keyPem, certPem } = process.env;
const body = JSON.stringify({ csrPem: CSR });
for (;;) {
  const status = await new Promise((resolve) =>
    request({ host: '127.0.0.1', port: Number(PORT), method: 'POST', path: '/bs/v1/bootstrap',
      servername: 'localhost', ca: CA, agent: false, key: keyPem, cert: certPem,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); })
      .on('error', (error) => resolve(error.code)).end(body));
  process.stdout.write(status + '\\n');
}
`;
