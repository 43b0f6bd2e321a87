import type { IncomingMessage } from 'node:http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { METRICS_PATH } from './metrics/prometheus-endpoint';

/** Probes and scrapes: answered every few seconds, a trace each would bury the requests that matter. */
export function isRoutineRequest(request: Pick<IncomingMessage, 'url'>): boolean {
  const path = (request.url ?? '').split('?')[0] ?? '';
  return path.startsWith('/health/') || path === METRICS_PATH;
}

/**
 * Redis commands as `db.query.text`: the command and its key, never a value (a nonce, a cached record)
 * and never the arguments of AUTH or HELLO (a password). EVAL and EVALSHA show their keys only.
 */
export function redisStatement(command: string, args: readonly unknown[]): string {
  const name = command.toUpperCase();
  if (name === 'EVAL' || name === 'EVALSHA' || name === 'FCALL') {
    const keyCount = Number(args[1]);
    const keys = Number.isInteger(keyCount) && keyCount > 0 ? args.slice(2, 2 + keyCount) : [];
    return [name, ...keys.map(String)].join(' ');
  }
  if (/^(AUTH|HELLO|ACL|CONFIG|MIGRATE|CLIENT)$/.test(name) || args.length === 0) return name;
  return `${name} ${String(args[0])}`;
}

/**
 * The maintained instrumentations the services need: node:http/https (every listener, and the
 * internal client's requests), undici (fetch), pg, ioredis and the AWS SDK (S3). Each hooks its module
 * when it is required, so they are made before the service's modules load (see main.ts).
 *
 * What they record holds no secret: pg records statements with placeholders (never their values or
 * the connection string), ioredis commands and keys (redisStatement), http no header but the user agent
 * (never Authorization or X-Api-Key), and outgoing URLs with credentials and signatures redacted.
 * pg and Redis spans are made only inside a trace (a request, a consumed record): the outbox relay's
 * and read models' polling is not traced.
 */
export function tracingInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: isRoutineRequest,
    }),
    new UndiciInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
    new IORedisInstrumentation({
      requireParentSpan: true,
      dbStatementSerializer: (command, args) => redisStatement(command, args),
    }),
    // Only the SDK's own span per S3 call: its signed HTTP request underneath adds nothing.
    new AwsInstrumentation({ suppressInternalInstrumentation: true }),
  ];
}
