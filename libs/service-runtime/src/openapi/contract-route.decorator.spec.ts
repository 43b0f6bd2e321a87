import { Body, Controller, Module, Param, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@meterkeep/observability';
import {
  METER_DATA_KEYS_GET,
  PSK_PROOFS_CHECK,
  type MeterDataKeys,
  type PskProofRequest,
  type PskProofVerdict,
} from '@meterkeep/contracts';
import { HttpExceptionFilter } from '../errors/http-exception.filter';
import { ZodPipe } from '../http/zod.pipe';
import { InternalHttpClient } from '../internal-http/internal-http-client';
import { internalTokenCredential } from '../internal-http/service-credential';
import { ContractRoute } from './contract-route.decorator';

const key = Buffer.alloc(32, 3).toString('base64');

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

@Module({ controllers: [ContractController] })
class ContractModule {}

/** A server and a client built from the same contracts, talking over a real socket. */
describe('ContractRoute and InternalHttpClient on one contract', () => {
  let app: INestApplication;
  let client: InternalHttpClient;

  beforeAll(async () => {
    app = await NestFactory.create(ContractModule, { logger: false });
    app.useGlobalFilters(new HttpExceptionFilter(createLogger({ service: 'test', level: 'silent' })));
    await app.listen(0, '127.0.0.1');
    const server: Server = app.getHttpServer();
    const { port } = server.address() as AddressInfo;
    client = new InternalHttpClient({
      service: 'test',
      baseUrl: `http://127.0.0.1:${port}`,
      credential: internalTokenCredential('x'.repeat(32)),
    });
  });

  afterAll(() => app.close());

  it("serves the contract's method, path and success status, and the client reads the answer", async () => {
    const request = {
      pskIdentity: 'known',
      message: Buffer.from('m').toString('base64'),
      proof: Buffer.alloc(32).toString('base64'),
    };
    await expect(client.call(PSK_PROOFS_CHECK, { body: request })).resolves.toEqual({
      valid: true,
      tenantId: 'acme',
      endpointName: 'MTR-1',
    });
    await expect(
      client.call(METER_DATA_KEYS_GET, { params: { tenantId: 'acme', meterId: 'MTR-1' } }),
    ).resolves.toMatchObject({
      meterId: 'MTR-1',
    });
  });

  it("refuses a parameter its contract refuses with a 400 the client's caller may accept", async () => {
    const answer = await client.exchange(
      METER_DATA_KEYS_GET,
      { params: { tenantId: 'NOT A TENANT', meterId: 'MTR-1' } },
      [400],
    );
    expect(answer).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
  });

  it('documents each route from its contract: path, parameters, body and every answer', () => {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().build());
    const check = document.paths['/internal/v1/psk-proofs']?.post;
    expect(check?.summary).toBe(PSK_PROOFS_CHECK.summary);
    expect(Object.keys(check?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401']));
    expect(JSON.stringify(check?.requestBody)).toContain('pskIdentity');
    const keys = document.paths['/internal/v1/tenants/{tenantId}/meters/{meterId}/data-keys']?.get;
    expect(keys?.parameters?.map((p) => ('name' in p ? p.name : undefined))).toEqual(
      expect.arrayContaining(['tenantId', 'meterId']),
    );
    expect(JSON.stringify(keys?.responses['200'])).toContain('meterKey');
  });
});
