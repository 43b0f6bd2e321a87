import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVerifyArgs, runVerifyErasure } from './verify-erasure-cli';

describe('verify-erasure: where the certificate comes from', () => {
  it('takes it as the positional argument or as --certificate-file, the same file either way', () => {
    expect(parseVerifyArgs(['cert.json', '--public-key', 'key.pem'])).toEqual({
      from: { file: 'cert.json' },
      publicKeyFile: 'key.pem',
    });
    expect(parseVerifyArgs(['--certificate-file', 'cert.json', '--public-key', 'key.pem'])).toEqual({
      from: { file: 'cert.json' },
      publicKeyFile: 'key.pem',
    });
  });

  it('or fetches it by --erasure-id with its --subject, still against the --public-key given', () => {
    expect(
      parseVerifyArgs(['--erasure-id', 'er-1', '--subject', 'subj-1', '--public-key', 'key.pem']),
    ).toEqual({ from: { erasureId: 'er-1', subjectRef: 'subj-1' }, publicKeyFile: 'key.pem' });
    expect(parseVerifyArgs(['--erasure-id', 'er-1', '--subject', 's'])).toEqual({ exit: 2 });
    expect(parseVerifyArgs(['--erasure-id', 'er-1', '--public-key', 'k'])).toMatchObject({
      exit: 2,
      error: expect.stringContaining('--subject'),
    });
    expect(parseVerifyArgs(['--subject', 's', '--public-key', 'k'])).toMatchObject({ exit: 2 });
    expect(
      parseVerifyArgs(['a.json', '--erasure-id', 'er-1', '--subject', 's', '--public-key', 'k']),
    ).toMatchObject({ exit: 2, error: expect.stringContaining('once') });
    expect(
      parseVerifyArgs([
        '--certificate-file',
        'a.json',
        '--erasure-id',
        'er-1',
        '--subject',
        's',
        '--public-key',
        'k',
      ]),
    ).toMatchObject({ exit: 2, error: expect.stringContaining('once') });
  });

  it('refuses both at once, neither, a second positional, a missing key, an unknown option (exit 2)', () => {
    expect(
      parseVerifyArgs(['a.json', '--certificate-file', 'b.json', '--public-key', 'key.pem']),
    ).toMatchObject({ exit: 2, error: expect.stringContaining('--certificate-file') });
    expect(parseVerifyArgs(['--public-key', 'key.pem'])).toEqual({ exit: 2 });
    expect(parseVerifyArgs(['a.json', 'b.json', '--public-key', 'key.pem'])).toEqual({ exit: 2 });
    expect(parseVerifyArgs(['--certificate-file', 'a.json'])).toEqual({ exit: 2 });
    expect(parseVerifyArgs(['--certificate-file'])).toMatchObject({ exit: 2, error: expect.any(String) });
    expect(parseVerifyArgs(['--certificate', 'a.json', '--public-key', 'k'])).toMatchObject({ exit: 2 });
    expect(parseVerifyArgs(['--help'])).toEqual({ exit: 0 });
  });

  it('reads the file named by --certificate-file: one that is not a certificate fails the format check (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verify-erasure-'));
    const file = join(dir, 'not-a-certificate.json');
    writeFileSync(file, JSON.stringify({ certificateVersion: 1, certificateId: 'ec_x' }));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runVerifyErasure(
      ['--certificate-file', file, '--public-key', join(dir, 'unused.pem')],
      {
        env: {
          DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
          KAFKA_BROKERS: '127.0.0.1:1',
          S3_ENDPOINT: 'http://127.0.0.1:1',
          S3_ACCESS_KEY_ID: 'unused',
          S3_SECRET_ACCESS_KEY: 'unused',
          PRIVACY_KEK: Buffer.alloc(32, 7).toString('base64'),
        },
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      },
    );
    expect(err).toEqual([]);
    expect(code).toBe(1);
    const report = JSON.parse(out.join('\n')) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(report).toMatchObject({ ok: false, checks: [{ name: 'format', ok: false }] });
  });

  it('says where a named file cannot be read (exit 1)', async () => {
    const err: string[] = [];
    const missing = join(tmpdir(), 'verify-erasure-missing', 'certificate.json');
    const code = await runVerifyErasure(['--certificate-file', missing, '--public-key', 'unused.pem'], {
      env: {
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        KAFKA_BROKERS: '127.0.0.1:1',
        S3_ENDPOINT: 'http://127.0.0.1:1',
        S3_ACCESS_KEY_ID: 'unused',
        S3_SECRET_ACCESS_KEY: 'unused',
        PRIVACY_KEK: Buffer.alloc(32, 7).toString('base64'),
      },
      out: () => undefined,
      err: (line) => err.push(line),
    });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(`cannot read ${missing}`);
  });
});
