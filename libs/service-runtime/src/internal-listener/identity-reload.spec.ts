// cert-manager renews a service's identity Secret in place: the internal listener and internal calls take
// the renewed certificate from the files with no restart, and refuse files that are not a renewal. Real
// HTTPS with mutual TLS, real files, the watch as it runs in a service.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@meterkeep/observability';
import { reloadingMutualTlsCredential } from '../internal-http/service-credential';
import { testCa, testIdentity, testIdentityFiles } from '../testing/identities';
import { InternalListener } from './internal-listener';
import type { ServiceIdentity, ServiceIdentityConfig } from './service-identity';
import { ServiceIdentityFiles } from './service-identity-files';

const logger = createLogger({ service: 'identity-reload-spec', level: 'silent' });
const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function rewrite(
  files: ServiceIdentityConfig,
  identity: ServiceIdentity,
  which: 'key' | 'cert' | 'both' = 'both',
) {
  if (which !== 'cert') writeFileSync(files.SERVICE_TLS_KEY_FILE, identity.keyPem, { mode: 0o600 });
  if (which !== 'key') writeFileSync(files.SERVICE_TLS_CERT_FILE, identity.certificatePem);
}

/** `enrollment` listening, `bootstrap` calling it, each from its own watched files. */
async function twoServices() {
  const ca = testCa();
  const server = { identity: testIdentity(ca, 'enrollment') };
  const client = { identity: testIdentity(ca, 'bootstrap') };
  const serverFiles = testIdentityFiles(server.identity);
  const clientFiles = testIdentityFiles(client.identity);
  const serverSource = new ServiceIdentityFiles(serverFiles, logger, { debounceMs: 50 });
  const clientSource = new ServiceIdentityFiles(clientFiles, logger, { debounceMs: 50 });
  const listener = new InternalListener({
    port: 0,
    host: '127.0.0.1',
    identity: serverSource.current,
    // Answers with the serial of the client certificate OpenSSL verified.
    handler: (req, res) =>
      res.end((req.socket as TLSSocket).getPeerX509Certificate()?.serialNumber ?? 'none'),
    logger,
  });
  await listener.listen();
  serverSource.onChange((identity) => listener.useIdentity(identity));
  serverSource.watch();
  clientSource.watch();
  const credential = reloadingMutualTlsCredential(clientSource);
  closers.push(
    () => listener.close(),
    () => serverSource.close(),
    () => clientSource.close(),
    () => credential.agent.destroy(),
  );

  /**
   * One internal call on a new connection of the credential's agent (Connection: close; one kept alive
   * keeps the certificates of its handshake): the server certificate shown, the client certificate seen.
   */
  const call = () =>
    new Promise<{ server: string; client: string }>((resolve, reject) => {
      request(
        `${listener.url}/`,
        { agent: credential.agent, servername: 'localhost', headers: { connection: 'close' } },
        (res: IncomingMessage) => {
          const server = (res.socket as TLSSocket).getPeerX509Certificate()!.serialNumber;
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ server, client: body }));
        },
      )
        .on('error', reject)
        .end();
    });
  return { ca, serverFiles, clientFiles, serverSource, clientSource, server, client, call };
}

async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never saw ${what}`);
}

describe('service identity renewed in its files, no restart', () => {
  it('new connections carry the renewed certificates both ways once the files change', async () => {
    const s = await twoServices();
    expect(await s.call()).toEqual({
      server: serialOf(s.server.identity.certificatePem),
      client: serialOf(s.client.identity.certificatePem),
    });

    const renewedServer = testIdentity(s.ca, 'enrollment');
    const renewedClient = testIdentity(s.ca, 'bootstrap');
    rewrite(s.serverFiles, renewedServer);
    rewrite(s.clientFiles, renewedClient);
    const renewed = {
      server: serialOf(renewedServer.certificatePem),
      client: serialOf(renewedClient.certificatePem),
    };
    // Seen by the watch alone: nothing here calls reload().
    await until(
      async () => JSON.stringify(await s.call()) === JSON.stringify(renewed),
      'the renewed pair on a new call',
    );
    expect(s.serverSource.current.certificatePem).toBe(renewedServer.certificatePem);
  });

  it('a half-written Secret (new key, old certificate) is refused and the identity in use kept, then taken whole', async () => {
    const s = await twoServices();
    s.serverSource.close(); // reloads by hand here: each step is checked
    const renewed = testIdentity(s.ca, 'enrollment');
    rewrite(s.serverFiles, renewed, 'key');
    expect(await s.serverSource.reload()).toBe(false);
    expect((await s.call()).server).toBe(serialOf(s.server.identity.certificatePem));
    rewrite(s.serverFiles, renewed, 'cert');
    expect(await s.serverSource.reload()).toBe(true);
    expect((await s.call()).server).toBe(serialOf(renewed.certificatePem));
  });

  it('refuses files that name another service, or come from another CA; the calls go on with the identity in use', async () => {
    const s = await twoServices();
    s.clientSource.close();
    const original = serialOf(s.client.identity.certificatePem);

    rewrite(s.clientFiles, testIdentity(s.ca, 'privacy'));
    expect(await s.clientSource.reload()).toBe(false);
    expect(s.clientSource.current.name).toBe('bootstrap');
    expect((await s.call()).client).toBe(original);

    rewrite(s.clientFiles, testIdentity(testCa('Another CA'), 'bootstrap'));
    expect(await s.clientSource.reload()).toBe(false);
    expect((await s.call()).client).toBe(original);
  });

  it('a renewed platform CA is trusted by new connections: peers with certificates from it get through', async () => {
    const s = await twoServices();
    s.serverSource.close();
    s.clientSource.close();
    const nextCa = testCa('Next platform CA');
    // The server moves to the new CA first (its certificate and the CA it trusts callers by) ...
    const server = testIdentity(nextCa, 'enrollment');
    writeFileSync(s.serverFiles.PLATFORM_CA_FILE, nextCa.certificate.pem);
    rewrite(s.serverFiles, server);
    expect(await s.serverSource.reload()).toBe(true);
    // ... so a caller still on the old CA is refused by the handshake, until it renews from the new one.
    await expect(s.call()).rejects.toThrow();
    writeFileSync(s.clientFiles.PLATFORM_CA_FILE, nextCa.certificate.pem);
    const client = testIdentity(nextCa, 'bootstrap');
    rewrite(s.clientFiles, client);
    expect(await s.clientSource.reload()).toBe(true);
    expect(await s.call()).toEqual({
      server: serialOf(server.certificatePem),
      client: serialOf(client.certificatePem),
    });
  });

  it('moves to a new platform CA with no refused call: both CAs in ca.crt, identities renewed one by one, then the old CA dropped', async () => {
    const s = await twoServices();
    s.serverSource.close();
    s.clientSource.close();
    const nextCa = testCa('Next platform CA');
    const oldCaPem = s.server.identity.platformCaPem;
    const both = oldCaPem + nextCa.certificate.pem;
    for (const files of [s.serverFiles, s.clientFiles]) writeFileSync(files.PLATFORM_CA_FILE, both);
    expect([await s.serverSource.reload(), await s.clientSource.reload()]).toEqual([true, true]);

    const server = testIdentity(nextCa, 'enrollment');
    rewrite(s.serverFiles, server);
    expect(await s.serverSource.reload()).toBe(true);
    expect(await s.call()).toEqual({
      server: serialOf(server.certificatePem),
      client: serialOf(s.client.identity.certificatePem), // still from the old CA, still trusted
    });
    const client = testIdentity(nextCa, 'bootstrap');
    rewrite(s.clientFiles, client);
    expect(await s.clientSource.reload()).toBe(true);
    for (const files of [s.serverFiles, s.clientFiles])
      writeFileSync(files.PLATFORM_CA_FILE, nextCa.certificate.pem);
    expect([await s.serverSource.reload(), await s.clientSource.reload()]).toEqual([true, true]);
    expect(await s.call()).toEqual({
      server: serialOf(server.certificatePem),
      client: serialOf(client.certificatePem),
    });
  });
});
