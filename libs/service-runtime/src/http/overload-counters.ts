import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { HttpRouteContract } from '@meterkeep/contracts';
import { type MetricAttributes, startCounterAtZero } from '@meterkeep/observability';
import { declaredRefusalCodes } from '../openapi/api-refusals';
import { CONTRACT_ROUTE } from '../openapi/contract-route.decorator';

/** The contract routes the application serves (handlers with @ContractRoute in its controllers). */
export function servedContractRoutes(app: INestApplication): HttpRouteContract[] {
  const routes = new Map<string, HttpRouteContract>();
  for (const module of app.get(ModulesContainer, { strict: false }).values())
    for (const controller of module.controllers.values()) {
      const prototype = (controller.metatype as { prototype?: object } | undefined)?.prototype;
      if (!prototype) continue;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = Object.getOwnPropertyDescriptor(prototype, name)?.value as unknown;
        if (typeof handler !== 'function') continue;
        const route = Reflect.getMetadata(CONTRACT_ROUTE, handler) as HttpRouteContract | undefined;
        if (route) routes.set(`${route.method} ${route.path}`, route);
      }
    }
  return [...routes.values()];
}

/**
 * The 429 and 503 answers each served contract route declares, with their codes, as the request
 * metrics label them (route template, status, listener = the route's audience, code): the series a
 * service starts at 0. Routes are served from `@Controller()` without a prefix, so the template is
 * the contract's path.
 */
export function declaredOverloadAnswers(
  routes: readonly HttpRouteContract[],
): MetricAttributes<'httpOverloadAnswers'>[] {
  return routes.flatMap((route) =>
    [429, 503].flatMap((status) =>
      declaredRefusalCodes(route, status).map((code) => ({
        'http.route': route.path,
        'http.response.status_code': status,
        'meterkeep.listener': route.audience,
        'meterkeep.code': code,
      })),
    ),
  );
}

/** Starts the overload answers a service's routes declare at 0, so their first burst shows in rate(). */
export function startOverloadCountersAtZero(app: INestApplication): void {
  startCounterAtZero('httpOverloadAnswers', declaredOverloadAnswers(servedContractRoutes(app)));
}
