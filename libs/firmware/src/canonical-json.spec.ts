// RFC 8785 (JCS) conformance: the RFC's own examples and its Appendix B number samples.
import { describe, expect, it } from 'vitest';
import { CanonicalizationError, MAX_CANONICAL_DEPTH, canonicalize } from './canonical-json';

const fromIeeeHex = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

describe('canonicalize (RFC 8785)', () => {
  it('§3.2.2 example: literals, numbers and string escaping', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('§3.2.3 example: members sorted by UTF-16 code units, not code points', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    // The RFC lists the values in this order (Object.keys would move "1" first: read the text).
    const values = [...canonicalize(input).matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
    expect(values).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(canonicalize(input).startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')).toBe(
      true,
    );
  });

  it('sorts nested objects and keeps array order', () => {
    expect(canonicalize({ b: [3, { z: 1, a: 2 }], a: { d: null, c: 'x' } })).toBe(
      '{"a":{"c":"x","d":null},"b":[3,{"a":2,"z":1}]}',
    );
  });

  // Appendix B: IEEE 754 bit patterns and their canonical text.
  const numbers: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  it.each(numbers)('Appendix B: %s serialises as %s', (hex, text) => {
    expect(canonicalize(fromIeeeHex(hex))).toBe(text);
    expect(canonicalize([fromIeeeHex(hex)])).toBe(`[${text}]`);
  });

  it.each([
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
    ['fff0000000000000', '-Infinity'],
  ])('Appendix B: %s (%s) is refused', (hex) => {
    expect(() => canonicalize({ n: fromIeeeHex(hex) })).toThrow(CanonicalizationError);
  });

  it('writes -0 as 0', () => {
    expect(canonicalize({ n: -0 })).toBe('{"n":0}');
  });

  it('escapes control characters as RFC 8785 does and keeps other characters as they are', () => {
    expect(canonicalize('\u0000\u0008\t\n\u000b\f\r\u001f "\\/\u007f\u00e9\u2028')).toBe(
      '"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f \\"\\\\/\u007f\u00e9\u2028"',
    );
  });

  it('refuses lone surrogates, in values and in member names', () => {
    for (const bad of ['\ud800', 'a\udc00', '\ude00\ud83d']) {
      expect(() => canonicalize(bad)).toThrow(/lone surrogate/);
      expect(() => canonicalize({ [bad]: 1 })).toThrow(/lone surrogate/);
    }
    expect(canonicalize('\ud83d\ude00')).toBe('"\ud83d\ude00"');
  });

  it('refuses what JSON cannot hold, and leaves out undefined members as JSON.stringify does', () => {
    for (const bad of [undefined, 1n, () => 1, Symbol('s'), new Date(0), Buffer.from('x'), [undefined]]) {
      expect(() => canonicalize(bad)).toThrow(CanonicalizationError);
    }
    expect(canonicalize({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalize(Object.assign(Object.create(null), { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });

  it('keeps a "__proto__" member as data', () => {
    expect(canonicalize(JSON.parse('{"__proto__":{"x":1},"a":0}'))).toBe('{"__proto__":{"x":1},"a":0}');
  });

  it(`refuses nesting deeper than ${MAX_CANONICAL_DEPTH}`, () => {
    let deep: unknown = 0;
    for (let i = 0; i < MAX_CANONICAL_DEPTH; i++) deep = [deep];
    expect(() => canonicalize(deep)).not.toThrow();
    expect(() => canonicalize([deep])).toThrow(/deeper/);
  });
});
