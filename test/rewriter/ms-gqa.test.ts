// com.microsoft.GroupQueryAttention converted where it is a dense causal attention (no past cache,
// no rotary): original and rewritten run on ONNX Runtime's CPU provider and are compared.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema } from 'onnx-buf';
import { rewriteModel } from '../../src/rewriter/index.js';
import { GraphBuilder, DT, bytesOf } from './graph-builder.js';
import { relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

const B = 2, S = 6, HQ = 4, HK = 2, D = 8;

interface Opts {
  attrs?: Record<string, number>;
  float16?: boolean;
  packed?: boolean;
  presents?: 'constant-total' | 'input-total';
  past?: number;
  bias?: boolean;
  kvLen?: number;
}

function gqa(o: Opts = {}) {
  const g = new GraphBuilder(17);
  const L = o.kvLen ?? S;
  const T = o.float16 ? DT.FLOAT16 : DT.FLOAT;
  const inputs = o.packed
    ? [g.input('q', [B, S, (HQ + 2 * HK) * D], T), '', '']
    : [g.input('q', [B, S, HQ * D], T), g.input('k', [B, L, HK * D], T), g.input('v', [B, L, HK * D], T)];
  if (o.past !== undefined) inputs.push(g.input('past_k', [B, HK, o.past, D]), g.input('past_v', [B, HK, o.past, D]));
  else inputs.push('', '');
  inputs.push(g.input('seqlens_k', [B], DT.INT32));
  inputs.push(o.presents === 'constant-total' ? g.int32s([S], []) : g.input('total', [], DT.INT32));
  if (o.bias) inputs.push('', '', '', g.input('ab', [1, HQ, S, S]));
  const [y, pk, pv] = g.node('GroupQueryAttention', inputs, { num_heads: HQ, kv_num_heads: HK, ...o.attrs }, 3, 'com.microsoft');
  if (o.presents) {
    g.output('y', [B, S, HQ * D]);
    g.output(pk!, [B, HK, S, D]);
    g.output(pv!, [B, HK, S, D]);
  }
  const m = g.build(y!, 'y', [B, S, HQ * D], T);
  m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.microsoft', version: 1n }));
  return m;
}

/** float16 bits of x (round to nearest even; the values here are small and normal). */
function half(x: number): number {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000, e = ((u >>> 23) & 0xff) - 127 + 15, m = u & 0x7fffff;
  if (e <= 0) return sign;
  const r = (e << 10) | (m >>> 13), rest = m & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && (r & 1)) ? r + 1 : r);
}

function feeds(model: ReturnType<typeof gqa>, lengths: number[]) {
  let s = 11;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const out: Record<string, ort.Tensor> = {};
  const init = new Set(model.graph!.initializer.map((t) => t.name));
  for (const i of model.graph!.input) {
    if (init.has(i.name)) continue;
    const tt = i.type!.value.value as { elemType: number; shape: { dim: { value: { value: bigint } }[] } };
    const dims = tt.shape.dim.map((d) => Number(d.value.value));
    if (i.name === 'seqlens_k') out[i.name] = new ort.Tensor('int32', Int32Array.from(lengths, (x) => x - 1), dims);
    else if (i.name === 'total') out[i.name] = new ort.Tensor('int32', Int32Array.from([S]), dims);
    else if (tt.elemType === DT.FLOAT16) out[i.name] = new ort.Tensor('float16', Uint16Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => half(r() * 2)), dims);
    else out[i.name] = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2), dims);
  }
  return out;
}

async function same(model: ReturnType<typeof gqa>, lengths = [S, S], tolerance = 1e-5) {
  const { model: out, sites } = rewriteModel(model);
  expect(sites[0]!.status, sites[0]!.reason).toBe('fused');
  expect(out.graph!.node.some((n) => n.opType === 'GroupQueryAttention')).toBe(false);
  const f = feeds(model, lengths);
  const want = await runOriginal(bytesOf(model), f);
  const got = await runRewritten(out, f);
  for (const name of Object.keys(want)) {
    // Padded query rows too: ONNX Runtime 1.30 attends them to the sequence's keys, as key_lengths does.
    expect(relativeMaxError(want[name]!, got[name]!), name).toBeLessThan(tolerance);
  }
  return { site: sites[0]!, want, got };
}

describe('ms-group-query-attention', () => {
  it('converts GQA without a past cache to causal FlashAttention', async () => {
    const { site } = await same(gqa());
    expect(site.attributes).toMatchObject({ causal: 1, num_heads: HQ, kv_num_heads: HK, q: 'packed', k: 'packed', v: 'packed' });
  });

  it('keeps scale, softcap and the local window', async () => {
    expect((await same(gqa({ attrs: { scale: 0.3 } }))).site.attributes).toMatchObject({ scale: expect.closeTo(0.3, 6) });
    expect((await same(gqa({ attrs: { softcap: 2 } }))).site.attributes).toMatchObject({ softcap: 2 });
    for (const w of [1, 2, 4]) expect((await same(gqa({ attrs: { local_window_size: w } }))).site.attributes).toMatchObject({ window_left: w - 1 });
  });

  it('takes the per-sequence lengths from seqlens_k (right padding)', async () => {
    const { model: out } = rewriteModel(gqa());
    const fa = out.graph!.node.find((n) => n.opType === 'FlashAttention')!;
    expect(fa.input[5]).toBeTruthy();
    await same(gqa(), [S, 3]);
    await same(gqa({ attrs: { local_window_size: 2 } }), [4, 2]);
  });

  it('converts float16 GQA (both accumulate in float32; output rounding only)', async () => {
    await same(gqa({ float16: true }), [S, 4], 2e-3);
    await same(gqa({ float16: true, attrs: { local_window_size: 3 } }), [S, S], 2e-3);
    // Padded query rows with a window: ONNX Runtime 1.30's float16 path differs from its own
    // float32 path (which the op follows); the rows of real tokens are equal.
    const m = gqa({ float16: true, attrs: { local_window_size: 3 } });
    const lengths = [3, 4];
    const f = feeds(m, lengths);
    const want = (await runOriginal(bytesOf(m), f)).y!, got = (await runRewritten(rewriteModel(m).model, f)).y!;
    const rows = (y: Float64Array) => Float64Array.from(lengths.flatMap((n, b) => Array.from(y.subarray(b * S * HQ * D, (b * S + n) * HQ * D))));
    expect(rows(want).length).toBe(7 * HQ * D);
    expect(relativeMaxError(rows(want), rows(got))).toBeLessThan(2e-3);
  });

  it('splits packed QKV', async () => {
    await same(gqa({ packed: true }));
  });

  it('writes present_key/value when their length is proven to be S', async () => {
    const { want } = await same(gqa({ presents: 'constant-total' }));
    expect(Object.keys(want).length).toBe(3);
  });

  it('adds attention_bias', async () => {
    expect((await same(gqa({ bias: true }))).site.attributes).toMatchObject({ masked_rows: 'nan' });
  });

  it.each([
    ['rotary inside the op', { attrs: { do_rotary: 1 } }, /rotary/],
    ['smooth softmax', { attrs: { smooth_softmax: 1 } }, /smooth softmax/],
    ['a past KV cache', { past: 4 }, /past KV cache/],
    ['an attribute of a later version (quantized cache)', { attrs: { kv_cache_bit_width: 8 } }, /'kv_cache_bit_width' is not known/],
    ['presents whose length is a run-time input', { presents: 'input-total' }, /total_sequence_length is not proven/],
  ] as [string, Opts, RegExp][])('leaves %s alone', (_n, opts, reason) => {
    const { model: out, sites } = rewriteModel(gqa(opts));
    expect(sites[0]!.status).toBe('skipped');
    expect(sites[0]!.reason).toMatch(reason);
    expect(out.graph!.node.some((n) => n.opType === 'GroupQueryAttention')).toBe(true);
  });

  it('converts a statically empty past', async () => {
    await same(gqa({ past: 0 }), [S, 4]);
  });
});
