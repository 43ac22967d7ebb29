// createSession against onnxruntime-node's own sessions, in the same process: results, metadata,
// pre-allocated outputs, concurrency, release, and that onnxruntime-node keeps working beside us.
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as ortNode from 'onnxruntime-node';
import { InferenceSession, Tensor } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';

import { createSession, opsLibraryPath, runtimeInfo } from '../../src/index.js';
import { addMulModel, model, valueInfo } from './models.js';

const root = path.resolve(import.meta.dirname, '../..');
const bert = path.join(root, 'models/corpus/bert.ts17_eager.onnx');

function bertFeeds<T extends { new (type: 'int64', data: BigInt64Array, dims: number[]): unknown }>(TensorClass: T, batch: number, seq: number) {
  const ids = new BigInt64Array(batch * seq);
  const mask = new BigInt64Array(batch * seq);
  for (let i = 0; i < ids.length; i++) {
    ids[i] = BigInt(Math.floor(Math.random() * 90) + 5);
    mask[i] = i % seq < seq - (i % 3) ? 1n : 0n; // some padding at the end of rows
  }
  return {
    input_ids: new TensorClass('int64', ids, [batch, seq]),
    attention_mask: new TensorClass('int64', mask, [batch, seq]),
  } as Record<string, InstanceType<T>>;
}

describe('createSession', () => {
  it('uses the libonnxruntime.so.1 that onnxruntime-node ships', () => {
    const info = runtimeInfo();
    // Compared as real paths: node resolves packages through symlinks (a linked node_modules in a worktree).
    const shipped = path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1');
    expect(fs.realpathSync(info.libraryPath)).toBe(fs.realpathSync(shipped));
    expect(info.version).toBe('1.30.0');
    expect(info.apiVersion).toBeGreaterThanOrEqual(23);
    expect(info.providers).toContain('CPUExecutionProvider');
    expect(path.isAbsolute(opsLibraryPath)).toBe(true);
  });

  it('matches onnxruntime-node bit for bit on a model without our ops (bert), in the same process', async () => {
    const ours = await createSession(bert);
    const theirs = await ortNode.InferenceSession.create(bert);
    expect(ours).toBeInstanceOf(InferenceSession);
    expect(ours.inputNames).toEqual(theirs.inputNames);
    expect(ours.outputNames).toEqual(theirs.outputNames);
    expect(ours.inputMetadata).toEqual(theirs.inputMetadata);
    expect(ours.outputMetadata).toEqual(theirs.outputMetadata);
    for (const [batch, seq] of [[1, 7], [3, 33]] as const) {
      const feeds = bertFeeds(ortNode.Tensor, batch, seq);
      const [a, b] = await Promise.all([ours.run(feeds), theirs.run(feeds)]);
      const name = ours.outputNames[0]!;
      const x = a[name]!;
      const y = b[name]!;
      expect(x).toBeInstanceOf(Tensor);
      expect(x.type).toBe('float32');
      expect(x.dims).toEqual(y.dims);
      expect(x.dims).toEqual([batch, seq, 64]);
      const xd = x.data as Float32Array;
      expect(xd.every(Number.isFinite)).toBe(true);
      expect(Buffer.from(xd.buffer, xd.byteOffset, xd.byteLength).equals(Buffer.from((y.data as Float32Array).buffer))).toBe(true);
    }
    await Promise.all([ours.release(), theirs.release()]);
  });

  it('takes model bytes as well as a path', async () => {
    const session = await createSession(addMulModel());
    const a = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = new Tensor('float32', new Float32Array([10, 20, 30, 40, 50, 60]), [2, 3]);
    const out = await session.run({ a, b });
    expect(Array.from(out['s']!.data as Float32Array)).toEqual([11, 22, 33, 44, 55, 66]);
    expect(Array.from(out['p']!.data as Float32Array)).toEqual([10, 40, 90, 160, 250, 360]);
    expect(session.inputMetadata).toEqual([
      { name: 'a', isTensor: true, type: 'float32', shape: [2, 3] },
      { name: 'b', isTensor: true, type: 'float32', shape: [2, 3] },
    ]);
    await session.release();
  });

  it('writes pre-allocated outputs in place and computes only the fetches asked for', async () => {
    const session = await createSession(addMulModel());
    const a = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = new Tensor('float32', new Float32Array([1, 1, 1, 2, 2, 2]), [2, 3]);
    const s = new Tensor('float32', new Float32Array(6).fill(NaN), [2, 3]);
    const out = await session.run({ a, b }, { s });
    expect(Object.keys(out)).toEqual(['s']);
    expect(out['s']).toBe(s);
    expect(Array.from(s.data as Float32Array)).toEqual([2, 3, 4, 6, 7, 8]);

    // A Tensor of onnxruntime-node's (CommonJS) onnxruntime-common copy is written in place too.
    const foreign = new ortNode.Tensor('float32', new Float32Array(6).fill(NaN), [2, 3]);
    expect(foreign).not.toBeInstanceOf(Tensor);
    const out2 = await session.run({ a, b }, { p: foreign, s: null });
    expect(Array.from(foreign.data as Float32Array)).toEqual([1, 2, 3, 8, 10, 12]);
    expect(Array.from(out2['p']!.data as Float32Array)).toEqual([1, 2, 3, 8, 10, 12]);
    expect(Array.from(out2['s']!.data as Float32Array)).toEqual([2, 3, 4, 6, 7, 8]);
    await session.release();
  });

  it('runs off the JS thread: the event loop keeps turning during a long run', async () => {
    // 24 chained 640x640 matmuls: about 13 GFLOP, a few hundred milliseconds on one core.
    const n = 640;
    const nodes = Array.from({ length: 24 }, (_, i) => ({ opType: 'MatMul', input: [i === 0 ? 'x' : `h${i}`, 'x'], output: [i === 23 ? 'y' : `h${i + 1}`] }));
    const session = await createSession(
      model({ nodes, inputs: [valueInfo('x', 1, [n, n])], outputs: [valueInfo('y', 1, [n, n])] }),
      { intraOpNumThreads: 1 },
    );
    const x = new Tensor('float32', new Float32Array(n * n).fill(1 / n), [n, n]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    const out = await session.run({ x });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect((out['y']!.data as Float32Array)[0]).toBeCloseTo(1 / n, 6);
    console.log(`long run: ${elapsed.toFixed(0)} ms, ${ticks} timer ticks meanwhile`);
    expect(elapsed).toBeGreaterThan(50);
    expect(ticks).toBeGreaterThan(5);
    await session.release();
  });

  it('runs two sessions at once, and onnxruntime-node sessions beside them', async () => {
    const [one, two] = await Promise.all([createSession(bert), createSession(addMulModel(), { intraOpNumThreads: 1 })]);
    const reference = await ortNode.InferenceSession.create(bert);
    const feeds = bertFeeds(Tensor, 2, 16);
    const expected = (await reference.run(feeds))[reference.outputNames[0]!]!.data as Float32Array;
    const a = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? one.run(feeds) : two.run({ a, b: a }))),
    );
    for (let i = 0; i < runs.length; i++) {
      if (i % 2 === 0) expect(Array.from(runs[i]![one.outputNames[0]!]!.data as Float32Array)).toEqual(Array.from(expected));
      else expect(Array.from(runs[i]!['p']!.data as Float32Array)).toEqual([1, 4, 9, 16, 25, 36]);
    }
    await Promise.all([one.release(), two.release(), reference.release()]);
  });

  it('release() frees the session: later runs reject, a run in flight still completes, memory is returned', async () => {
    const session = await createSession(addMulModel());
    const a = new Tensor('float32', new Float32Array(6).fill(2), [2, 3]);
    const inFlight = session.run({ a, b: a });
    await session.release();
    expect(Array.from((await inFlight)['p']!.data as Float32Array)).toEqual([4, 4, 4, 4, 4, 4]);
    await expect(session.run({ a, b: a })).rejects.toThrow(/released/);

    // A 32 MB weight, loaded and released 20 times: without release the process would grow by 640 MB.
    const count = 8 * 1024 * 1024;
    const weight = new Uint8Array(new Float32Array(count).fill(0.5).buffer);
    const big = model({
      nodes: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
      inputs: [valueInfo('x', 1, [count])],
      outputs: [valueInfo('y', 1, [count])],
    });
    // Splice the initializer in through onnx-buf rather than by hand.
    const { fromBinary, toBinary, create } = await import('@bufbuild/protobuf');
    const { ModelProtoSchema, TensorProtoSchema } = await import('onnx-buf');
    const proto = fromBinary(ModelProtoSchema, big);
    proto.graph!.initializer.push(create(TensorProtoSchema, { name: 'w', dataType: 1, dims: [BigInt(count)], rawData: weight }));
    const bytes = toBinary(ModelProtoSchema, proto);
    const warm = await createSession(bytes);
    await warm.release();
    const before = process.memoryUsage.rss();
    for (let i = 0; i < 20; i++) {
      const s = await createSession(bytes, { enableCpuMemArena: false });
      await s.release();
    }
    const grown = process.memoryUsage.rss() - before;
    expect(grown).toBeLessThan(200 * 1024 * 1024);
  });
});
