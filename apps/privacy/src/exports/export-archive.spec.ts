import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, verifyEs256 } from '@meterkeep/firmware';
import { openArchive, sealArchive, sha256Hex, signManifest, tarArchive, toCsv } from './export-archive';

describe('subject access archive', () => {
  it('is a ustar archive that tar reads back byte for byte', () => {
    const files = [
      { name: 'readings.json', bytes: Buffer.from('[{"a":1}]') },
      { name: 'readings.csv', bytes: randomBytes(1500) },
      { name: 'empty.json', bytes: Buffer.alloc(0) },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'export-archive-'));
    try {
      writeFileSync(join(dir, 'a.tar'), tarArchive(files, new Date()));
      execFileSync('tar', ['-xf', 'a.tar'], { cwd: dir });
      for (const file of files) expect(readFileSync(join(dir, file.name)).equals(file.bytes)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('seals under the one-time key, bound to its export id', () => {
    const key = randomBytes(32);
    const sealed = sealArchive(Buffer.from('archive'), key, 'ex-1');
    expect(openArchive(sealed, key, 'ex-1').toString()).toBe('archive');
    expect(() => openArchive(sealed, key, 'ex-2')).toThrow();
    expect(() => openArchive(sealed, randomBytes(32), 'ex-1')).toThrow();
  });

  it('the manifest lists every file digest and verifies ES256 over its canonical form', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const files = [{ name: 'x.json', bytes: Buffer.from('{}') }];
    const manifest = signManifest(
      {
        manifestVersion: 1,
        exportId: 'ex-1',
        tenantId: 't',
        subjectRef: 's',
        generatedAt: new Date().toISOString(),
        generator: 'test',
        scope: { occupancyIds: [] },
      },
      files,
      privateKey,
    );
    expect(manifest.files).toEqual([{ name: 'x.json', sha256: sha256Hex(files[0]!.bytes), bytes: 2 }]);
    const { signature, ...unsigned } = manifest;
    expect(verifyEs256(publicKey, canonicalBytes(unsigned), Buffer.from(signature.value, 'base64url'))).toBe(
      true,
    );
    expect(
      verifyEs256(
        publicKey,
        canonicalBytes({ ...unsigned, subjectRef: 'other' }),
        Buffer.from(signature.value, 'base64url'),
      ),
    ).toBe(false);
  });

  it('CSV quotes what needs quoting', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x,y', 'say "hi"'],
          [1, 2],
        ],
      ),
    ).toBe('a,b\r\n"x,y","say ""hi"""\r\n1,2\r\n');
  });
});
