// The ops' output shapes as ONNX Runtime's graph optimizer sees them (ops/README.md, "Output shapes
// in a graph"): a hand-built graph with no value_info, optimized by ONNX Runtime, whose saved model
// then carries the shape it inferred for each of our outputs (kept alive by an Identity after it).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { createSession } from '../../src/index.js';
import { model, valueInfo, type Dim, type NodeInit } from './models.js';

const FLOAT = 1, INT32 = 6;
const int = (name: string, i: number) => ({ name, type: 2, i: BigInt(i) });
const str = (name: string, s: string) => ({ name, type: 3, s: new TextEncoder().encode(s) });

/** The shapes ONNX Runtime inferred for `values` (dim values as numbers, dim_params as strings). */
async function inferredShapes(node: NodeInit, inputs: Array<[string, number, Dim[]]>, values: string[], outType = FLOAT): Promise<Record<string, Dim[] | undefined>> {
  const bytes = model({
    nodes: [node, ...values.map((v) => ({ opType: 'Identity', input: [v], output: [`${v}_id`] }))],
    inputs: inputs.map(([name, t, dims]) => valueInfo(name, t, dims)),
    outputs: values.map((v) => ({ name: `${v}_id`, type: { value: { case: 'tensorType' as const, value: { elemType: outType } } } })),
    opsets: [{ domain: '', version: 21n }, { domain: 'fa_onnx', version: 1n }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'fa-onnx-shapes-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const session = await createSession(bytes, { graphOptimizationLevel: 'basic', optimizedModelFilePath: path });
    await session.release();
    const saved = fromBinary(ModelProtoSchema, readFileSync(path)).graph!;
    const all = [...saved.valueInfo, ...saved.output];
    return Object.fromEntries(values.map((v) => {
      const tt = all.find((x) => x.name === v || x.name === `${v}_id`)?.type?.value.value as { shape?: { dim: { value: { case?: string; value?: unknown } }[] } } | undefined;
      return [v, tt?.shape?.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? String(d.value.value) : '?'))];
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const attention = (inputs: string[], attrs: ReturnType<typeof int>[], op = 'FlashAttention', outputs = ['o']): NodeInit =>
  ({ opType: op, domain: 'fa_onnx', input: inputs, output: outputs, attribute: attrs });

describe('output shapes seen by ONNX Runtime', () => {
  it('packed heads: heads · Dv, symbols kept (GQA, Dv other than D)', async () => {
    const got = await inferredShapes(attention(['q', 'k', 'v'], [int('num_heads', 4), int('kv_num_heads', 2)]),
      [['q', FLOAT, ['batch', 'seq', 64]], ['k', FLOAT, ['batch', 'keys', 32]], ['v', FLOAT, ['batch', 'keys', 16]]], ['o']);
    expect(got.o).toEqual(['batch', 'seq', 32]);  // Dv = 16 / 2 = 8, four query heads
  });

  it('rank 4 in either layout: the query shape with Dv last', async () => {
    const bshd = await inferredShapes(attention(['q', 'k', 'v'], []),
      [['q', FLOAT, [2, 'seq', 4, 16]], ['k', FLOAT, [2, 9, 4, 16]], ['v', FLOAT, [2, 9, 4, 8]]], ['o']);
    expect(bshd.o).toEqual([2, 'seq', 4, 8]);
    const bhsd = await inferredShapes(attention(['q', 'k', 'v'], [str('layout', 'BHSD')]),
      [['q', FLOAT, [2, 4, 'seq', 16]], ['k', FLOAT, [2, 4, 9, 16]], ['v', FLOAT, [2, 4, 9, 'dv']]], ['o']);
    expect(bhsd.o).toEqual([2, 4, 'seq', 'dv']);
  });

  it('absent optional inputs before present ones (bias "" then a mask)', async () => {
    const got = await inferredShapes(attention(['q', 'k', 'v', '', 'm'], [int('num_heads', 2), int('kv_num_heads', 2)]),
      [['q', FLOAT, ['b', 's', 32]], ['k', FLOAT, ['b', 's', 32]], ['v', FLOAT, ['b', 's', 32]], ['m', 9, ['b', 1, 1, 's']]], ['o']);
    expect(got.o).toEqual(['b', 's', 32]);
  });

  it('an unknown Dv is a fresh symbol, never a wrong value', async () => {
    const got = await inferredShapes(attention(['q', 'k', 'v'], [int('num_heads', 4), int('kv_num_heads', 2)]),
      [['q', FLOAT, ['b', 's', 64]], ['k', FLOAT, ['b', 's', 32]], ['v', FLOAT, ['b', 's', 'vd']]], ['o']);
    expect(got.o?.slice(0, 2)).toEqual(['b', 's']);
    expect(typeof got.o?.[2]).toBe('string');
    expect(['vd', 's', 'b', 64, 32]).not.toContain(got.o?.[2]);
  });

  it('varlen: [Tq, Hq, Dv] and [Tq, Hq · Dv]', async () => {
    const offsets: Array<[string, number, Dim[]]> = [['cq', INT32, [3]], ['ck', INT32, [3]]];
    const heads = await inferredShapes(attention(['q', 'k', 'v', 'cq', 'ck'], [], 'FlashAttentionVarlen'),
      [['q', FLOAT, ['tq', 4, 16]], ['k', FLOAT, ['tk', 4, 16]], ['v', FLOAT, ['tk', 4, 8]], ...offsets], ['o']);
    expect(heads.o).toEqual(['tq', 4, 8]);
    const packed = await inferredShapes(attention(['q', 'k', 'v', 'cq', 'ck'], [int('num_heads', 4), int('kv_num_heads', 4)], 'FlashAttentionVarlen'),
      [['q', FLOAT, ['tq', 64]], ['k', FLOAT, ['tk', 64]], ['v', FLOAT, ['tk', 32]], ...offsets], ['o']);
    expect(packed.o).toEqual(['tq', 32]);
  });

  it('element types follow the op: float16 in and out, FP8 in and bfloat16 out', async () => {
    const half = await inferredShapes(attention(['q', 'k', 'v'], [int('num_heads', 2), int('kv_num_heads', 2)]),
      [['q', 10, ['b', 's', 32]], ['k', 10, ['b', 's', 32]], ['v', 10, ['b', 's', 32]]], ['o'], 10);
    expect(half.o).toEqual(['b', 's', 32]);
    const fp8 = await inferredShapes(attention(['q', 'k', 'v', 'dq', 'dk', 'dv'], [int('num_heads', 2), int('kv_num_heads', 2)], 'FlashAttentionFp8'),
      [['q', 17, ['b', 's', 32]], ['k', 17, ['b', 's', 32]], ['v', 17, ['b', 's', 32]], ['dq', FLOAT, []], ['dk', FLOAT, []], ['dv', FLOAT, []]], ['o'], 16);
    expect(fp8.o).toEqual(['b', 's', 32]);
  });

  it('KV cache: the output from the value cache, the cache outputs as their inputs', async () => {
    const got = await inferredShapes(attention(['q', 'kn', 'vn', 'kc', 'vc', 'lens'], [str('layout', 'BHSD')], 'FlashAttentionKVCache', ['o', 'kc_out', 'vc_out']),
      [['q', FLOAT, ['b', 4, 1, 16]], ['kn', FLOAT, ['b', 2, 1, 16]], ['vn', FLOAT, ['b', 2, 1, 8]],
        ['kc', FLOAT, ['b', 2, 'cap', 16]], ['vc', FLOAT, ['b', 2, 'cap', 8]], ['lens', INT32, ['b']]], ['o', 'kc_out', 'vc_out']);
    expect(got).toEqual({ o: ['b', 4, 1, 8], kc_out: ['b', 2, 'cap', 16], vc_out: ['b', 2, 'cap', 8] });
  });
});
