import { describe, expect, it } from 'vitest';
import { DbError } from './db.errors';
import { assertSchemaName } from './schema-name';

describe('assertSchemaName', () => {
  it.each(['enrollment', 'ota_distributor', '_scratch', 'svc2', 'a'.repeat(63)])('accepts %s', (name) => {
    expect(() => assertSchemaName(name)).not.toThrow();
  });

  it.each([
    '',
    'Enrollment',
    '2fa',
    'ota-distributor',
    'svc"; drop schema public cascade; --',
    'svc,public',
    'svc name',
    'a'.repeat(64),
    'public',
    'pg_catalog',
    'information_schema',
  ])('rejects %j', (name) => {
    expect(() => assertSchemaName(name)).toThrow(DbError);
  });
});
