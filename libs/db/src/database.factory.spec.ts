import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { DbError } from './db.errors';
import { withSearchPath } from './database.factory';

interface StartupParameters {
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
  options?: string;
}

// What pg itself will send at connect time (an unconnected Client only parses its config).
function startupParameters(url: string): StartupParameters {
  return (new Client({ connectionString: url }) as unknown as { connectionParameters: StartupParameters })
    .connectionParameters;
}

describe('withSearchPath', () => {
  it('pins search_path as a startup option pg reads from the URL', () => {
    const params = startupParameters(
      withSearchPath('postgres://meter:p%40ss@db.internal:5433/meterkeep?application_name=x', 'enrollment'),
    );
    expect(params.options).toBe('-c search_path=enrollment');
    expect(params).toMatchObject({
      user: 'meter',
      password: 'p@ss',
      host: 'db.internal',
      port: 5433,
      database: 'meterkeep',
    });
  });

  it('keeps startup options already in the URL', () => {
    const url = withSearchPath(
      'postgresql://root@127.0.0.1/test?options=-c%20statement_timeout%3D5000',
      'privacy',
    );
    expect(startupParameters(url).options).toBe('-c statement_timeout=5000 -c search_path=privacy');
  });

  it('refuses a URL that sets its own search_path, a non-postgres URL and a bad schema', () => {
    expect(() => withSearchPath('postgres://h/db?options=-c%20search_path%3Dpublic', 'svc')).toThrow(
      /search_path/,
    );
    expect(() => withSearchPath('mysql://h/db', 'svc')).toThrow(DbError);
    expect(() => withSearchPath('not a url', 'svc')).toThrow(/not a URL/);
    expect(() => withSearchPath('postgres://h/db', 'svc -c role=admin')).toThrow(/Invalid schema name/);
  });
});
