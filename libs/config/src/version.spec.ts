import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asksForVersion, meterkeepVersion, versionLine } from './version';

const rootPackage = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
  version: string;
};
const scratch = mkdtempSync(join(tmpdir(), 'version-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('meterkeepVersion', () => {
  it('is the root package.json version', () => {
    expect(meterkeepVersion()).toBe(rootPackage.version);
    expect(versionLine('factory')).toBe(`factory ${rootPackage.version}`);
  });

  it('skips package.json files of other packages on the way up, as in the image (/app/dist/...)', () => {
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'meterkeep', version: '9.8.7' }));
    const deep = join(scratch, 'dist', 'libs', 'config', 'src');
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(scratch, 'dist', 'package.json'), JSON.stringify({ name: 'other', version: '1.0.0' }));
    expect(meterkeepVersion(deep)).toBe('9.8.7');
  });

  it('recognises --version and -V only as the first word', () => {
    expect(asksForVersion(['--version'])).toBe(true);
    expect(asksForVersion(['-V'])).toBe(true);
    expect(asksForVersion(['batch', '--version'])).toBe(false);
    expect(asksForVersion([])).toBe(false);
  });
});
