// Every bundled corpus model: all attention sites fused, the report says what each became, and
// the rewritten model computes what the original computes (onnxruntime-node vs createSession).
import { readFileSync, readdirSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { rewriteModel } from '../../src/rewriter/index.js';
import { Graph, inferFacts, shapeStr } from '../../src/ir/index.js';
import { corpusInputs, relativeMaxError, runOptimized, runOriginal, runRewritten } from './corpus-run.js';

const DIR = new URL('../../models/corpus/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.onnx')).sort();
const SITES: Record<string, number> = { bert: 2, gpt2: 2, llama: 2, vit: 2, t5: 6, whisper: 6 };

describe.each(files)('%s', (file) => {
  const bytes = new Uint8Array(readFileSync(new URL(file, DIR)));
  const original = fromBinary(ModelProtoSchema, bytes);
  const arch = file.split('.')[0]!;
  const fp16 = file.includes('fp16');

  it('fuses every attention site', () => {
    const { model, sites } = rewriteModel(original);
    expect(sites.map((s) => [s.id, s.status, s.reason])).toEqual(sites.map((s) => [s.id, 'fused', undefined]));
    expect(sites).toHaveLength(SITES[arch]!);
    const fa = model.graph!.node.filter((n) => n.domain === 'fa_onnx');
    expect(fa).toHaveLength(SITES[arch]!);
    expect(model.graph!.node.filter((n) => n.opType === 'Softmax' || n.opType === 'Attention')).toHaveLength(0);
    expect(model.opsetImport.find((o) => o.domain === 'fa_onnx')?.version).toBe(1n);
    for (const s of sites) {
      expect(s.op).toBe('fa_onnx.FlashAttention');
      expect(s.attributes?.num_heads).toBe(4);
      expect(s.attributes?.kv_num_heads).toBe(arch === 'llama' ? 2 : 4);
      expect(s.attributes?.scale).toBeCloseTo(arch === 't5' ? 1 : 0.25, 6);
      expect(s.removedNodes.length).toBeGreaterThan(0);
    }
    // Decoder self-attention masks become causal=1 (the rest of the mask stays a tensor).
    const causal = sites.filter((s) => s.attributes?.causal === 1).length;
    const wantCausal = arch === 'gpt2' || arch === 'llama' ? sites.length : arch === 'whisper' || (arch === 't5' && file.includes('ts17')) ? 2 : 0;
    expect(causal).toBe(wantCausal);
    // Masks and biases reach the op in their broadcast forms: key padding as [B,1,1,Sk], no mask
    // where the model has none (ViT, whisper), position biases without a batch dim unless constant.
    const g = new Graph(model);
    const facts = inferFacts(g);
    for (const n of g.nodes.filter((x) => x.domain === 'fa_onnx')) {
      const [bias, mask] = [n.input(3), n.input(4)];
      if (mask) expect(facts.shape(mask)?.[2], `${n.id} mask ${shapeStr(facts.shape(mask) ?? [])}`).toBe(1);
      if (bias && !g.initializers.has(bias)) expect(facts.shape(bias)?.[0], `${n.id} bias ${shapeStr(facts.shape(bias) ?? [])}`).toBe(1);
      if (arch === 'vit' || arch === 'whisper') expect([bias, mask]).toEqual([undefined, undefined]);
    }
    // Everything outside the graph's nodes is kept.
    expect([model.irVersion, model.producerName, model.producerVersion, model.graph!.name]).toEqual([original.irVersion, original.producerName, original.producerVersion, original.graph!.name]);
    expect(model.opsetImport.slice(0, -1)).toEqual(original.opsetImport);
    expect(model.metadataProps).toEqual(original.metadataProps);
    expect(model.graph!.input).toEqual(original.graph!.input);
    expect(model.graph!.output).toEqual(original.graph!.output);
  });

  it.each(['right', 'left'] as const)('matches the original on the CPU provider (%s padding)', async (padding) => {
    const { model } = rewriteModel(original);
    const feed = corpusInputs(original, padding);
    const want = await runOriginal(bytes, feed);
    const got = await runRewritten(model, feed);
    for (const [name, ref] of Object.entries(want)) {
      const err = relativeMaxError(ref, got[name]!);
      expect(err, `${name}: relative max error ${err}`).toBeLessThan(fp16 ? 2e-2 : 1e-4);
    }
  });

  // ONNX Runtime cannot infer a custom op's output shapes, so the rewrite declares them (value_info);
  // without that, fusions that need shapes (Add + Gelu -> BiasGelu in BERT and ViT) stopped at the
  // first attention node. Its own fused ops outside attention (FusedMatMul is the scores' scale) must
  // survive, and the fully optimized rewritten graph must still compute what the original computes.
  it('keeps ONNX Runtime\'s fusions outside attention, and matches the original when optimized', async () => {
    const { model } = rewriteModel(original);
    const feed = corpusInputs(original, 'right');
    const before = await runOptimized(original, feed);
    const after = await runOptimized(model, feed);
    const fused = (ops: Map<string, number>) => [...ops].filter(([op]) => op.startsWith('com.microsoft:') && op !== 'com.microsoft:FusedMatMul').sort();
    expect(fused(after.ops)).toEqual(fused(before.ops));
    for (const [name, ref] of Object.entries(before.out)) {
      const err = relativeMaxError(ref, after.out[name]!);
      expect(err, `${name}: relative max error ${err}`).toBeLessThan(fp16 ? 2e-2 : 1e-4);
    }
  });
});
