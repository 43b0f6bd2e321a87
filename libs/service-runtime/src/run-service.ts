import 'reflect-metadata';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, describeEnvironment } from '@meterkeep/config';
import { stopAllEventConsumers } from '@meterkeep/kafka';
import { createLogger, type Logger, type Telemetry } from '@meterkeep/observability';
import { HttpExceptionFilter } from './errors/http-exception.filter';
import { ServiceState } from './health/readiness';
import { measureRequests } from './http/metrics.middleware';
import { startOverloadCountersAtZero } from './http/overload-counters';
import { traceRequests } from './http/trace.middleware';
import { internalRouting } from './internal-listener/internal-routing.middleware';
import { NestPinoLogger } from './logging/nest-logger';

export interface ServiceOptions {
  name: string;
  module: Type | DynamicModule;
  port: number;
  host: string;
  logger: Logger;
  /** Consumers that feed @EventPattern handlers, such as the Kafka transport. */
  transports?: CustomTransportStrategy[];
  /** Runs on the created app before it listens: OpenAPI documents, extra HTTP settings. */
  configure?: (app: INestApplication) => void | Promise<void>;
}

export interface RunningService {
  app: INestApplication;
  url: string;
  /** Stops taking work, drains consumers and requests, flushes producers, releases stores. */
  stop(): Promise<void>;
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const app = await NestFactory.create(options.module, {
    logger: new NestPinoLogger(options.logger.child({ component: 'nest' })),
    abortOnError: false,
  });
  app.use(measureRequests());
  app.use(traceRequests(options.logger));
  app.use(internalRouting());
  app.useGlobalFilters(new HttpExceptionFilter(options.logger));
  await options.configure?.(app);
  for (const strategy of options.transports ?? [])
    app.connectMicroservice({ strategy }, { inheritAppConfig: true });
  // Module init first: migrations run and topics exist before any consumer subscribes to them.
  await app.init();
  startOverloadCountersAtZero(app);
  await app.startAllMicroservices();
  await app.listen(options.port, options.host);
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  const url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${address.port}`;
  options.logger.info({ url }, `${options.name} listening`);

  let stopping: Promise<void> | undefined;
  return {
    app,
    url,
    stop: () => {
      // Readiness turns 503 first so a load balancer stops sending; then Nest closes the consumers and
      // the HTTP server (waiting for in-flight work), and last the stores and producers.
      stopping ??= (async () => {
        app.get(ServiceState, { strict: false }).draining = true;
        await app.close();
      })();
      return stopping;
    },
  };
}

export interface MainOptions {
  name: string;
  telemetry: () => Telemetry;
  /** Reads config and describes the service; a ConfigError here stops the process with its message. */
  build: () => Omit<ServiceOptions, 'name' | 'logger' | 'module' | 'transports'> & {
    module: (logger: Logger) => ServiceOptions['module'];
    /** The transports, or a function building them with the service's logger. */
    transports?: CustomTransportStrategy[] | ((logger: Logger) => CustomTransportStrategy[]);
    shutdownTimeoutMs: number;
    logLevel: string;
    /** The variables the config was read from: logged at start-up with secrets masked. */
    environment: readonly string[];
  };
}

/** The whole life of a service process: start, serve, and on SIGTERM or SIGINT drain and exit 0. */
export function runMain(options: MainOptions): void {
  let telemetry: Telemetry | undefined;
  let logger = createLogger({ service: options.name });
  const fail = (message: string, error?: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`${options.name}: ${error.message}\n`);
    logger.fatal({ err: error instanceof ConfigError ? undefined : error }, message);
    logger.flush();
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
  };

  const main = async () => {
    telemetry = options.telemetry();
    const metricsUrl = await telemetry.metricsEndpoint;
    const built = options.build();
    logger = createLogger({ service: options.name, level: built.logLevel });
    logger.info({ environment: describeEnvironment(built.environment) }, 'configuration loaded');
    if (metricsUrl) logger.info({ url: metricsUrl }, 'metrics endpoint (Prometheus) listening');
    const service = await startService({
      ...built,
      module: built.module(logger),
      transports: typeof built.transports === 'function' ? built.transports(logger) : built.transports,
      name: options.name,
      logger,
    });

    const shutdown = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: built.shutdownTimeoutMs }, 'shutdown timed out');
        logger.flush();
        process.exit(1);
      }, built.shutdownTimeoutMs);
      timer.unref();
      // Every Kafka consumer leaves its group at once, beside Nest's close (whose hooks would stop them
      // one module after another, each waiting up to its disconnect timeout after a broker restart).
      void Promise.all([stopAllEventConsumers(), service.stop()])
        .then(() => telemetry?.shutdown())
        .then(() => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        })
        .catch((error: unknown) => fail('shutdown failed', error));
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  };

  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  // Node's own warnings become JSON log lines too. kafkajs 2.2.4 schedules a timer with a negative
  // delay on every idempotent send (harmless: Node clamps it to 1 ms), so that one is only debug.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    const level = warning.name === 'TimeoutNegativeWarning' ? 'debug' : 'warn';
    logger[level]({ warning: { name: warning.name, message: warning.message } }, 'process warning');
  });
  main().catch((error: unknown) =>
    fail(error instanceof ConfigError ? 'invalid configuration' : 'failed to start', error),
  );
}
