import { createLogger } from '@meterkeep/observability';
import { logLevel } from 'kafkajs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { kafkaLogLevelFor, pinoLevelFor, pinoLogCreator } from './kafka-client';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', level, destination }) };
}

describe('kafkajs logging through pino', () => {
  it('maps kafkajs INFO to debug and DEBUG to trace', () => {
    expect(pinoLevelFor(logLevel.ERROR)).toBe('error');
    expect(pinoLevelFor(logLevel.WARN)).toBe('warn');
    expect(pinoLevelFor(logLevel.INFO)).toBe('debug');
    expect(pinoLevelFor(logLevel.DEBUG)).toBe('trace');
  });

  it('asks kafkajs only for what the logger prints', () => {
    expect(kafkaLogLevelFor(capture('info').logger)).toBe(logLevel.WARN);
    expect(kafkaLogLevelFor(capture('debug').logger)).toBe(logLevel.INFO);
    expect(kafkaLogLevelFor(capture('trace').logger)).toBe(logLevel.DEBUG);
    expect(kafkaLogLevelFor(capture('error').logger)).toBe(logLevel.ERROR);
  });

  it('writes the entry at the mapped level with kafkajs fields, without its timestamp', () => {
    const { lines, logger } = capture('debug');
    const log = pinoLogCreator(logger)();
    const entry = (level: logLevel, message: string) => ({
      namespace: 'Consumer',
      level,
      label: 'x',
      log: { timestamp: 'then', logger: 'kafkajs', message, groupId: 'g1' },
    });
    log(entry(logLevel.INFO, 'joined'));
    log(entry(logLevel.DEBUG, 'dropped at debug'));
    log(entry(logLevel.ERROR, 'crashed'));
    expect(lines.map(({ level, msg }) => [level, msg])).toEqual([
      ['debug', 'joined'],
      ['error', 'crashed'],
    ]);
    expect(lines[0]).toMatchObject({ component: 'kafkajs', namespace: 'Consumer', groupId: 'g1' });
    expect(lines[0]).not.toHaveProperty('logger');
    expect(lines[0]?.time).not.toBe('then');
  });

  it('logs the routine CONCURRENT_TRANSACTIONS retry at debug, other errors as errors', () => {
    const { lines, logger } = capture('debug');
    const log = pinoLogCreator(logger)();
    const failed = (error: string) => ({
      namespace: 'Connection',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: 'then', logger: 'kafkajs', message: 'Response AddPartitionsToTxn', error },
    });
    log(
      failed(
        'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
      ),
    );
    log(failed('The coordinator is not available'));
    expect(lines.map(({ level }) => level)).toEqual(['debug', 'error']);
  });
});
