import { context, trace } from '@opentelemetry/api';
import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Where JSON lines go; stdout unless a test captures them. */
  destination?: pino.DestinationStream;
}

// Keys whose values never reach a log line, wherever they sit in the logged object.
const REDACTED_KEYS = [
  'password',
  'passphrase',
  'secret',
  'secretAccessKey',
  'psk',
  'apiKey',
  'authorization',
  'privateKey',
  'dataKey',
  'token',
];

/**
 * Errors as pino writes them, without the arguments of a failed Redis command: ioredis attaches the
 * command to its errors, and an AUTH or HELLO carries the password.
 */
function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as { command?: { name?: unknown } };
  if (serialized && typeof serialized === 'object' && serialized.command)
    serialized.command = { name: serialized.command.name };
  return serialized;
}

/** JSON logs with the active trace and span ids, so a log line leads to its trace. */
export function createLogger({ service, level = 'info', destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
      redact: { paths: REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), censor: '[redacted]' },
      mixin() {
        const span = trace.getSpan(context.active());
        if (!span) return {};
        const { traceId, spanId } = span.spanContext();
        return { traceId, spanId };
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
