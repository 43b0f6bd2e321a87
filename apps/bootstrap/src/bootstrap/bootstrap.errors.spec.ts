import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_REFUSALS,
  type BootstrapRefusalCode,
  CERTIFICATE_BOOTSTRAP,
  CERTIFICATE_RENEWAL,
  type HttpRouteContract,
  PSK_BOOTSTRAP,
  PSK_NONCE_ISSUE,
} from '@meterkeep/contracts';
import { declaredRefusalCodes as declaredCodes, httpStatusOf } from '@meterkeep/service-runtime';
import { bootstrapOpenApiDocument } from '../openapi/openapi';
import { BootstrapCertificateMeterUseCase } from './bootstrap-certificate-meter.use-case';
import { BootstrapPskMeterUseCase } from './bootstrap-psk-meter.use-case';
import { BOOTSTRAP_ERRORS } from './bootstrap.errors';
import { BootstrapController } from './bootstrap.controller';
import { IssuePskNonceUseCase } from './issue-psk-nonce.use-case';
import { RenewCertificateUseCase } from './renew-certificate.use-case';

const DEVICE_ROUTES: HttpRouteContract[] = [
  CERTIFICATE_BOOTSTRAP,
  PSK_NONCE_ISSUE,
  PSK_BOOTSTRAP,
  CERTIFICATE_RENEWAL,
];

/** Code literals of DomainErrors built by hand (not from the catalogue) in the device API's modules. */
function handBuiltCodes(): Map<string, string> {
  const found = new Map<string, string>();
  for (const dir of ['bootstrap', 'read-model', 'device-listener']) {
    const root = join(__dirname, '..', dir);
    for (const file of readdirSync(root).filter((f) => f.endsWith('.ts') && !f.includes('.spec.'))) {
      const source = readFileSync(join(root, file), 'utf8');
      for (const match of source.matchAll(/new DomainError\(\s*'[a-z-]+',\s*'([A-Z][A-Z0-9_]*)'/g))
        found.set(match[1]!, `${dir}/${file}`);
    }
  }
  return found;
}

@Module({
  controllers: [BootstrapController],
  providers: [
    BootstrapCertificateMeterUseCase,
    IssuePskNonceUseCase,
    BootstrapPskMeterUseCase,
    RenewCertificateUseCase,
  ].map((provide) => ({ provide, useValue: {} })),
})
class DeviceRoutesOnly {}

describe("bootstrap's refusals", () => {
  let document: OpenAPIObject;
  beforeAll(async () => {
    const app = await NestFactory.create(DeviceRoutesOnly, { logger: false });
    document = bootstrapOpenApiDocument(app);
    await app.close();
  });

  it('answer with the status the contract gives each code', () => {
    for (const [code, status] of Object.entries(BOOTSTRAP_REFUSALS))
      expect(httpStatusOf(BOOTSTRAP_ERRORS.definitions[code as BootstrapRefusalCode].kind), code).toBe(
        status,
      );
  });

  it('are each answered by some device route of the contract', () => {
    const declared = new Set(
      DEVICE_ROUTES.flatMap((route) =>
        Object.keys(route.responses).flatMap((status) => declaredCodes(route, Number(status))),
      ),
    );
    const undeclared = Object.keys(BOOTSTRAP_REFUSALS).filter((code) => !declared.has(code));
    expect(undeclared, 'codes bootstrap throws that no device route declares').toEqual([]);
  });

  it('are all in the catalogue: no DomainError with a code of its own in the device modules', () => {
    const strays = [...handBuiltCodes()].filter(([code]) => !(code in BOOTSTRAP_REFUSALS));
    expect(strays, 'codes thrown outside bootstrap.errors.ts and missing from the contract').toEqual([]);
  });

  it.each(DEVICE_ROUTES.map((route) => [route.name, route] as const))(
    '%s: its OpenAPI answers list every refusal code of its contract, with the message from the catalogue',
    (_, route) => {
      const operation = document.paths[route.path]?.post;
      expect(operation, `${route.path} in the OpenAPI document`).toBeDefined();
      for (const status of Object.keys(route.responses)
        .map(Number)
        .filter((s) => s >= 400)) {
        const answer = operation!.responses[String(status)] as { description?: string } | undefined;
        for (const code of declaredCodes(route, status)) {
          const { message } = BOOTSTRAP_ERRORS.definitions[code as BootstrapRefusalCode];
          expect(answer?.description, `${route.path} ${status}`).toContain(`\`${code}\`: ${message}`);
        }
      }
      const documented = Object.keys(operation!.responses)
        .map(Number)
        .filter((s) => s >= 400);
      expect(documented.sort()).toEqual(
        Object.keys(route.responses)
          .map(Number)
          .filter((s) => s >= 400)
          .sort(),
      );
    },
  );
});
