import 'reflect-metadata';
import { Body, Controller, Module, Param, UseGuards } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@meterkeep/observability';
import {
  METER_DATA_KEYS_GET,
  PSK_PROOFS_CHECK,
  type MeterDataKeys,
  type PskProofRequest,
  type PskProofVerdict,
} from '@meterkeep/contracts';
import { ZodPipe } from '../http/zod.pipe';
import { InternalHttpClient } from '../internal-http/internal-http-client';
import { mutualTlsCredential } from '../internal-http/service-credential';
import { testCa, testIdentity, testIdentityFiles } from '../testing/identities';
import { InternalCallerGuard } from '../internal-listener/internal-caller';
import { InternalListenerHost } from '../internal-listener/internal-listener.host';
import type { ServiceIdentity } from '../internal-listener/service-identity';
import { type RunningService, startService } from '../run-service';
import { ServiceCoreModule } from '../service-core.module';
import { ContractRoute } from './contract-route.decorator';

const key = Buffer.alloc(32, 3).toString('base64');
const proof = {
  pskIdentity: 'known',
  message: Buffer.from('m').toString('base64'),
  proof: Buffer.alloc(32).toString('base64'),
};

@UseGuards(InternalCallerGuard)
@Controller()
class ContractController {
  @ContractRoute(PSK_PROOFS_CHECK)
  check(@Body(new ZodPipe(PSK_PROOFS_CHECK.request)) body: PskProofRequest): PskProofVerdict {
    return body.pskIdentity === 'known'
      ? { valid: true, tenantId: 'acme', endpointName: 'MTR-1' }
      : { valid: false };
  }

  @ContractRoute(METER_DATA_KEYS_GET)
  keys(
    @Param('tenantId', new ZodPipe(METER_DATA_KEYS_GET.params.tenantId)) tenantId: string,
    @Param('meterId', new ZodPipe(METER_DATA_KEYS_GET.params.meterId)) meterId: string,
  ): MeterDataKeys {
    return { tenantId, meterId, occupancies: [], meterKey: { keyId: 'dk-1', key } };
  }
}

/** A raw HTTPS call with any client certificate (or none): what a TLS refusal looks like to a caller. */
function rawCall(url: string, path: string, identity?: Partial<ServiceIdentity>, caPem?: string) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const outgoing = httpsRequest(
      new URL(path, url),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ca: caPem,
        cert: identity?.certificatePem,
        key: identity?.keyPem,
        agent: false,
      },
      (incoming) => {
        let text = '';
        incoming.on('data', (chunk: Buffer) => (text += chunk.toString()));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    outgoing.once('error', reject);
    outgoing.end(JSON.stringify(proof));
  });
}

/**
 * A server and a client built from the same contracts, talking over a real socket: the route on the
 * internal listener (mutual TLS with the platform CA), guarded by the callers its contract names.
 */
describe('ContractRoute and InternalHttpClient on one contract, over the internal listener', () => {
  const ca = testCa();
  const enrollment = testIdentity(ca, 'enrollment');
  let service: RunningService;
  let internalUrl: string;
  const clientAs = (caller: ServiceIdentity) =>
    new InternalHttpClient({
      service: 'enrollment',
      baseUrl: internalUrl,
      credential: mutualTlsCredential(caller),
    });

  beforeAll(async () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    @Module({
      imports: [
        ServiceCoreModule.forRoot({
          config: { ...testIdentityFiles(enrollment), INTERNAL_PORT: 0, HOST: '127.0.0.1' },
          logger,
        }),
      ],
      controllers: [ContractController],
    })
    class AppModule {}
    service = await startService({ name: 'test', module: AppModule, port: 0, host: '127.0.0.1', logger });
    internalUrl = service.app.get(InternalListenerHost).url;
  });

  afterAll(() => service.app.close());

  it("serves the contract's method, path and success status to a caller it names", async () => {
    await expect(
      clientAs(testIdentity(ca, 'bootstrap')).call(PSK_PROOFS_CHECK, { body: proof }),
    ).resolves.toEqual({
      valid: true,
      tenantId: 'acme',
      endpointName: 'MTR-1',
    });
    await expect(
      clientAs(testIdentity(ca, 'telemetry-ingest')).call(METER_DATA_KEYS_GET, {
        params: { tenantId: 'acme', meterId: 'MTR-1' },
      }),
    ).resolves.toMatchObject({ meterId: 'MTR-1' });
  });

  it('refuses a caller the route does not name: 403 CALLER_NOT_ALLOWED', async () => {
    const ingest = testIdentity(ca, 'telemetry-ingest');
    await expect(
      rawCall(internalUrl, PSK_PROOFS_CHECK.path, ingest, ca.certificate.pem),
    ).resolves.toMatchObject({
      status: 403,
      body: {
        code: 'CALLER_NOT_ALLOWED',
        message: `telemetry-ingest may not call ${PSK_PROOFS_CHECK.name}`,
        details: { caller: 'telemetry-ingest', route: PSK_PROOFS_CHECK.name },
      },
    });
  });

  it('refuses a client without a certificate in the TLS handshake', async () => {
    await expect(rawCall(internalUrl, PSK_PROOFS_CHECK.path, undefined, ca.certificate.pem)).rejects.toThrow(
      /certificate required|socket hang up|ECONNRESET/,
    );
  });

  it('refuses a certificate naming an allowed service from another CA in the TLS handshake', async () => {
    const forged = testIdentity(testCa('Test platform CA'), 'bootstrap');
    await expect(rawCall(internalUrl, PSK_PROOFS_CHECK.path, forged, ca.certificate.pem)).rejects.toThrow(
      /unknown ca|socket hang up|ECONNRESET/,
    );
  });

  it('serves internal routes on the internal listener only: 404 on the plain one', async () => {
    const response = await fetch(new URL(PSK_PROOFS_CHECK.path, service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(proof),
    });
    expect(response.status).toBe(404);
  });

  it("refuses a parameter its contract refuses with a 400 the client's caller may accept", async () => {
    const answer = await clientAs(testIdentity(ca, 'telemetry-ingest')).exchange(
      METER_DATA_KEYS_GET,
      { params: { tenantId: 'NOT A TENANT', meterId: 'MTR-1' } },
      [400],
    );
    expect(answer).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
  });

  it('documents each route from its contract: path, parameters, body and every answer', () => {
    const document = SwaggerModule.createDocument(service.app, new DocumentBuilder().build());
    const check = document.paths['/internal/v1/psk-proofs']?.post;
    expect(check?.summary).toBe(PSK_PROOFS_CHECK.summary);
    expect(Object.keys(check?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
    expect(JSON.stringify(check?.requestBody)).toContain('pskIdentity');
    const keys = document.paths['/internal/v1/tenants/{tenantId}/meters/{meterId}/data-keys']?.get;
    expect(keys?.parameters?.map((p) => ('name' in p ? p.name : undefined))).toEqual(
      expect.arrayContaining(['tenantId', 'meterId']),
    );
    expect(JSON.stringify(keys?.responses['200'])).toContain('meterKey');
  });
});
