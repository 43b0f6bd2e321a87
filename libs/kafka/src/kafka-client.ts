import type { Logger } from '@meterkeep/observability';
import { Kafka, type KafkaConfig, type LogEntry, type RetryOptions, logLevel } from 'kafkajs';

/**
 * The Kafka client that this library's producers, consumers and admin helpers take, as
 * createKafkaClient (or KafkaModule's KAFKA_CLIENT) makes it. Services and their tests name it by
 * this type, never by kafkajs'.
 */
export type KafkaClient = Kafka;
/** How much the client itself logs (NOTHING silences it: a test reader, a health probe). */
export { logLevel as KafkaLogLevel };

export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  ssl?: KafkaConfig['ssl'];
  sasl?: KafkaConfig['sasl'];
  /** Where kafkajs logs go; without one, kafkajs writes warnings and errors to the console. */
  logger?: Logger;
  connectionTimeout?: number;
  requestTimeout?: number;
  retry?: RetryOptions;
  /** Overrides the kafkajs level derived from the logger (a health probe silences kafkajs entirely). */
  logLevel?: logLevel;
}

type PinoLevel = 'error' | 'warn' | 'debug' | 'trace';

/** kafkajs is chatty at INFO (joins, rebalances, every connect), so its INFO is our debug. */
export function pinoLevelFor(level: logLevel): PinoLevel {
  switch (level) {
    case logLevel.ERROR:
    case logLevel.NOTHING:
      return 'error';
    case logLevel.WARN:
      return 'warn';
    case logLevel.INFO:
      return 'debug';
    case logLevel.DEBUG:
      return 'trace';
  }
}

/** The most verbose kafkajs level the logger would print, so kafkajs builds no entry we drop. */
export function kafkaLogLevelFor(logger: Logger): logLevel {
  if (logger.isLevelEnabled('trace')) return logLevel.DEBUG;
  if (logger.isLevelEnabled('debug')) return logLevel.INFO;
  if (logger.isLevelEnabled('warn')) return logLevel.WARN;
  if (logger.isLevelEnabled('error')) return logLevel.ERROR;
  return logLevel.NOTHING;
}

/**
 * Answers kafkajs logs as errors although it retries them at once and they are part of normal work:
 * a transaction begun right after a commit meets CONCURRENT_TRANSACTIONS until the broker has
 * written the markers.
 */
const ROUTINE_RETRIES = /another concurrent operation on the same transaction/;

export function pinoLogCreator(logger: Logger) {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      // pino stamps its own time; kafkajs' own `logger: 'kafkajs'` field is noise.
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      const routine =
        ROUTINE_RETRIES.test(message) ||
        (typeof extra.error === 'string' && ROUTINE_RETRIES.test(extra.error));
      kafkaLogger[routine ? 'debug' : pinoLevelFor(level)]({ namespace, ...extra }, message);
    };
}

export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  const { logger } = options;
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: options.logLevel ?? (logger ? kafkaLogLevelFor(logger) : logLevel.WARN),
  };
  if (options.ssl !== undefined) config.ssl = options.ssl;
  if (options.sasl !== undefined) config.sasl = options.sasl;
  if (options.connectionTimeout !== undefined) config.connectionTimeout = options.connectionTimeout;
  if (options.requestTimeout !== undefined) config.requestTimeout = options.requestTimeout;
  if (options.retry !== undefined) config.retry = options.retry;
  if (logger) config.logCreator = pinoLogCreator(logger);
  return new Kafka(config);
}
