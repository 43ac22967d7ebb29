// Every tensor type a model can take goes in and comes back out unchanged (Identity), and the
// types onnxruntime-common lacks (bfloat16, float8) travel as their bits with the right meaning (Cast).
import { Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';

import { createSession } from '../../src/index.js';
import { castModel, identityModel } from './models.js';

const n = 11;
const random = (lo: number, hi: number) => Array.from({ length: n }, () => Math.floor(lo + Math.random() * (hi - lo)));

// [onnxruntime-common type, ONNX element type, data]
const cases: Array<[string, number, () => Tensor]> = [
  ['float32', 1, () => new Tensor('float32', Float32Array.from(random(-1e6, 1e6), (v) => v / 7), [n])],
  ['uint8', 2, () => new Tensor('uint8', Uint8Array.from(random(0, 256)), [n])],
  ['int8', 3, () => new Tensor('int8', Int8Array.from(random(-128, 128)), [n])],
  ['uint16', 4, () => new Tensor('uint16', Uint16Array.from(random(0, 65536)), [n])],
  ['int16', 5, () => new Tensor('int16', Int16Array.from(random(-32768, 32768)), [n])],
  ['int32', 6, () => new Tensor('int32', Int32Array.from(random(-(2 ** 31), 2 ** 31)), [n])],
  ['int64', 7, () => new Tensor('int64', BigInt64Array.from(random(-1e9, 1e9), (v) => BigInt(v) * 3_000_000_007n), [n])],
  ['string', 8, () => new Tensor('string', Array.from({ length: n }, (_, i) => ['', 'a', 'héllo wörld', 'x'.repeat(300)][i % 4]!), [n])],
  ['bool', 9, () => new Tensor('bool', Uint8Array.from(random(0, 2)), [n])],
  ['float16', 10, () => new Tensor('float16', Uint16Array.from(random(0, 0x7c00)), [n])],
  ['float64', 11, () => new Tensor('float64', Float64Array.from(random(-1e6, 1e6), (v) => v / 3), [n])],
  ['uint32', 12, () => new Tensor('uint32', Uint32Array.from(random(0, 2 ** 32)), [n])],
  ['uint64', 13, () => new Tensor('uint64', BigUint64Array.from(random(0, 1e9), (v) => BigInt(v) * 17_000_000_003n), [n])],
];

describe('tensor types', () => {
  it.each(cases)('%s round-trips through Identity', async (type, elemType, make) => {
    const session = await createSession(identityModel(elemType));
    expect(session.inputMetadata[0]).toEqual({ name: 'x', isTensor: true, type, shape: ['n'] });
    const x = make();
    const y = (await session.run({ x }))['y']!;
    expect(y).toBeInstanceOf(Tensor);
    expect(y.type).toBe(type);
    expect(y.dims).toEqual([n]);
    expect(y.data.constructor).toBe(x.data.constructor);
    expect(Array.from(y.data as ArrayLike<unknown>)).toEqual(Array.from(x.data as ArrayLike<unknown>));
    await session.release();
  });

  it('a pre-allocated string output is filled', async () => {
    const session = await createSession(identityModel(8));
    const y = new Tensor('string', ['old', 'old', 'old'], [3]);
    const out = await session.run({ x: new Tensor('string', ['a', 'bc', ''], [3]) }, { y });
    expect(out['y']).toBe(y);
    expect(y.data).toEqual(['a', 'bc', '']);
    await expect(session.run({ x: new Tensor('string', ['a', 'bc', ''], [3]) }, { y: new Tensor('string', ['z'], [1]) })).rejects.toThrow(
      /output 'y' has 3 elements; the pre-allocated tensor holds 1/,
    );
    await session.release();
  });

  it('typed arrays that view part of a buffer, or a SharedArrayBuffer, in and out; model bytes at an offset', async () => {
    const bytes = castModel(1, 11);
    const padded = new Uint8Array(bytes.length + 13);
    padded.set(bytes, 13);
    const session = await createSession(padded.subarray(13));
    const big = Float32Array.from({ length: 20 }, (_, i) => i);
    const out = new Float64Array(new SharedArrayBuffer(8 * 12)).fill(NaN);
    const y = new Tensor('float64', out.subarray(2, 8), [6]);
    await session.run({ x: new Tensor('float32', big.subarray(5, 11), [6]) }, { y });
    expect(Array.from(out)).toEqual([NaN, NaN, 5, 6, 7, 8, 9, 10, NaN, NaN, NaN, NaN]);
    const shared = new Float32Array(new SharedArrayBuffer(4 * 3));
    shared.set([1.5, -2, 3]);
    expect(Array.from((await session.run({ x: new Tensor('float32', shared, [3]) }))['y']!.data as Float64Array)).toEqual([1.5, -2, 3]);
    await session.release();
  });

  it('empty tensors', async () => {
    const session = await createSession(identityModel(1));
    const empty = (await session.run({ x: new Tensor('float32', new Float32Array(0), [0]) }))['y']!;
    expect(empty.dims).toEqual([0]);
    expect(empty.data).toHaveLength(0);
    await session.release();
  });

  it('bfloat16 travels as uint16 bits', async () => {
    // float32 -> bfloat16: ORT rounds to nearest even; 1.0 is 0x3f80, -2.5 is 0xc020.
    const toBf16 = await createSession(castModel(1, 16));
    expect(toBf16.outputMetadata[0]).toMatchObject({ type: 'bfloat16' });
    const y = (await toBf16.run({ x: new Tensor('float32', new Float32Array([1, -2.5, 0, 65280]), [4]) }))['y']!;
    expect(y.type).toBe('uint16');
    expect(Array.from(y.data as Uint16Array)).toEqual([0x3f80, 0xc020, 0, 0x477f]);
    // bfloat16 -> float32, fed as uint16 bits; the same bits also round-trip through Identity.
    const fromBf16 = await createSession(castModel(16, 1));
    expect(fromBf16.inputMetadata[0]).toMatchObject({ type: 'bfloat16' });
    const z = (await fromBf16.run({ x: new Tensor('uint16', new Uint16Array([0x3f80, 0xc020, 0x4049]), [3]) }))['y']!;
    expect(Array.from(z.data as Float32Array)).toEqual([1, -2.5, 3.140625]);
    const identity = await createSession(identityModel(16));
    const bits = Uint16Array.from(random(0, 0x7f80));
    const w = (await identity.run({ x: new Tensor('uint16', bits, [n]) }))['y']!;
    expect(Array.from(w.data as Uint16Array)).toEqual(Array.from(bits));
    await Promise.all([toBf16.release(), fromBf16.release(), identity.release()]);
  });

  it('float8 e4m3fn travels as uint8 bits', async () => {
    const session = await createSession(castModel(17, 1));
    expect(session.inputMetadata[0]).toMatchObject({ type: 'float8e4m3fn' });
    // 0x38 = 1.0, 0x40 = 2.0, 0xb8 = -1.0, 0x7e = 448 (the largest e4m3fn value)
    const y = (await session.run({ x: new Tensor('uint8', new Uint8Array([0x38, 0x40, 0xb8, 0x7e]), [4]) }))['y']!;
    expect(Array.from(y.data as Float32Array)).toEqual([1, 2, -1, 448]);
    await session.release();
  });

  it('float16 pre-allocated output, NaN-poisoned, is overwritten', async () => {
    const session = await createSession(castModel(1, 10));
    const y = new Tensor('float16', new Uint16Array(3).fill(0x7e00), [3]);
    await session.run({ x: new Tensor('float32', new Float32Array([1, -2, 0.5]), [3]) }, { y });
    expect(Array.from(y.data as Uint16Array)).toEqual([0x3c00, 0xc000, 0x3800]);
    await session.release();
  });
});
