import { describe, expect, it } from 'vitest';
import { OTA_UPLOAD_MAX_PARTS } from '@meterkeep/contracts';
import { isWholePartList, planUpload } from './upload-plan';

const MIB = 1024 * 1024;

describe('planUpload', () => {
  it('cuts an image into parts of the preferred size, the last taking the rest', () => {
    const plan = planUpload(20 * MIB + 3, 8 * MIB);
    expect(plan.partSize).toBe(8 * MIB);
    expect(plan.parts).toEqual([
      { partNumber: 1, size: 8 * MIB },
      { partNumber: 2, size: 8 * MIB },
      { partNumber: 3, size: 4 * MIB + 3 },
    ]);
  });

  it('answers one part for an image smaller than a part, and exact multiples without an empty part', () => {
    expect(planUpload(1, 8 * MIB).parts).toEqual([{ partNumber: 1, size: 1 }]);
    expect(planUpload(16 * MIB, 8 * MIB).parts.map((p) => p.size)).toEqual([8 * MIB, 8 * MIB]);
  });

  it('grows the part size rather than plan more parts than allowed', () => {
    const size = 1024 * MIB;
    const plan = planUpload(size, 1 * MIB);
    expect(plan.parts.length).toBeLessThanOrEqual(OTA_UPLOAD_MAX_PARTS);
    expect(plan.parts.reduce((sum, p) => sum + p.size, 0)).toBe(size);
  });

  it('sums to the image size for every size', () => {
    for (const size of [1, 5 * MIB - 1, 5 * MIB, 5 * MIB + 1, 33_554_432, 123_456_789]) {
      const plan = planUpload(size, 5 * MIB);
      expect(plan.parts.reduce((sum, p) => sum + p.size, 0)).toBe(size);
      expect(plan.parts.every((p) => p.size > 0 && p.size <= plan.partSize)).toBe(true);
    }
  });

  it('refuses a size that is no size', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) expect(() => planUpload(size, 8 * MIB)).toThrow(RangeError);
  });
});

describe('isWholePartList', () => {
  it('takes 1..n once each, in any order', () => {
    expect(isWholePartList([1])).toBe(true);
    expect(isWholePartList([3, 1, 2])).toBe(true);
  });

  it('refuses gaps, repeats and numbers out of range', () => {
    expect(isWholePartList([1, 3])).toBe(false);
    expect(isWholePartList([1, 1])).toBe(false);
    expect(isWholePartList([2])).toBe(false);
    expect(isWholePartList([0, 1])).toBe(false);
    expect(isWholePartList([])).toBe(true);
  });
});
