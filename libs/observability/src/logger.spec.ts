import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ service: 'logger-spec', destination: { write: (l) => lines.push(l) } });
  return { logger, text: () => lines.join('') };
}

describe('createLogger', () => {
  it('logs a failed Redis command by name only: an AUTH carries the password', () => {
    const { logger, text } = capture();
    // What ioredis rejects with when a user's password is wrong: a ReplyError with its command.
    const error = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      name: 'ReplyError',
      command: { name: 'auth', args: ['mk-service', 'Zq7marker9Secret'] },
    });
    logger.warn({ err: error }, 'redis command failed');
    expect(text()).not.toContain('Zq7marker9Secret');
    expect(text()).toContain('WRONGPASS');
    expect(JSON.parse(text()).err.command).toEqual({ name: 'auth' });
  });

  it('redacts credential-named keys wherever they sit', () => {
    const { logger, text } = capture();
    logger.info({ options: { password: 'Zq7marker9Secret' } }, 'connecting');
    expect(text()).not.toContain('Zq7marker9Secret');
  });
});
