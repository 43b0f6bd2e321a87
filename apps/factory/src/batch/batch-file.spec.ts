import { describe, expect, it } from 'vitest';
import { endpointNameFor, indexOfSerial, serialFor } from './batch-file';

describe('serials', () => {
  const prefix = '4a1b2c3d4e5f6071';

  it('are 16 positive bytes: the batch prefix and the index', () => {
    const serial = serialFor(prefix, 1_234_567);
    expect(serial.length).toBe(16);
    expect(serial[0]! & 0x80).toBe(0);
    expect(serial.toString('hex')).toBe('4a1b2c3d4e5f6071000000000012d687');
    expect(indexOfSerial(prefix, serial.toString('hex'))).toBe(1_234_567);
  });

  it("never repeat within a batch, and are told apart from another batch's", () => {
    const seen = new Set(Array.from({ length: 10_000 }, (_, i) => serialFor(prefix, i).toString('hex')));
    expect(seen.size).toBe(10_000);
    expect(indexOfSerial('5a1b2c3d4e5f6071', serialFor(prefix, 7).toString('hex'))).toBeUndefined();
  });
});

describe('endpoint names', () => {
  it('are the prefix and the zero-padded number, counted from the first index', () => {
    const source = {
      kind: 'generate',
      credential: 'certificate',
      endpointPrefix: 'EM300',
      firstIndex: 1,
      indexDigits: 6,
    } as const;
    expect(endpointNameFor(source, 0)).toBe('EM300-000001');
    expect(endpointNameFor(source, 999_999)).toBe('EM300-1000000');
  });
});
