// Mask and bias proofs: which float32 values a float16/bfloat16 cast keeps.
import { describe, expect, it } from 'vitest';
import { DT } from '../../src/ir/index.js';
import { exactIn } from '../../src/rewriter/passes/masks.js';

describe('exact casts', () => {
  it('knows which float32 values float16 and bfloat16 keep', () => {
    expect([0, 1, -65504, 0.25 * 127, 2 ** -24, -Infinity].every((x) => exactIn(DT.FLOAT16, x))).toBe(true);
    expect([65520, 1 / 3, 2 ** -25, 1 + 2 ** -11].some((x) => exactIn(DT.FLOAT16, x))).toBe(false);
    expect(exactIn(DT.BFLOAT16, 1.5)).toBe(true);
    expect(exactIn(DT.BFLOAT16, 1 + 2 ** -10)).toBe(false);
  });
});
