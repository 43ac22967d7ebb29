// Architectures beyond the corpus (test/rewriter/models): every site fused with the attributes
// the architecture needs, and the rewritten model equal to the original on the CPU provider.
import { readFileSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';
import { rewriteModel } from '../../src/rewriter/index.js';
import { corpusInputs, relativeMaxError, runOriginal, runRewritten } from './corpus-run.js';

const CASES: [string, number, Record<string, number | string>][] = [
  ['bloom.ts17_eager.onnx', 2, { causal: 1, num_heads: 4 }],           // ALiBi bias on [B·H, S, S] scores
  ['bloom.dyn18_sdpa.onnx', 2, { num_heads: 4 }],
  ['mpt.ts17_eager.onnx', 2, { num_heads: 4, causal: 1 }],            // ALiBi table sliced to the sequence; causal band inside a float-built bool mask
  ['mpt.ts17_eager_fp16.onnx', 2, { masked_rows: 'uniform', causal: 1 }],       // float32 ALiBi cast exactly; -65504 fill on float32 scores
  ['mistral.ts17_eager.onnx', 2, { causal: 1, window_left: 7, kv_num_heads: 2 }],
  ['gemma2.ts17_eager.onnx', 2, { softcap: 50, causal: 1 }],
  ['gpt_bigcode.ts17_sdpa.onnx', 2, { kv_num_heads: 1, num_heads: 4 }],
  ['swin.ts17_eager.onnx', 4, {}],
  ['deberta_v2.dyn18_sdpa.onnx', 2, { num_heads: 4 }],
  ['deberta_v2.ts17_eager.onnx', 2, { num_heads: 4 }],                // reads the probabilities' Shape
  ['bart.ts17_sdpa.onnx', 6, { num_heads: 4 }],
  ['beit.ts17_eager.onnx', 2, { num_heads: 4 }],                      // relative position bias through Resize
  ['gptj.ts17_eager_fp16.onnx', 2, { num_heads: 4 }],                 // float16 q/k widened to float32, float32 mask
];

describe.each(CASES)('%s', (file, count, attrs) => {
  const bytes = new Uint8Array(readFileSync(new URL(`models/${file}`, import.meta.url)));
  const original = fromBinary(ModelProtoSchema, bytes);

  it(`fuses all ${count} sites`, () => {
    const { sites } = rewriteModel(original);
    expect(sites.map((s) => [s.status, s.reason])).toEqual(new Array(count).fill(['fused', undefined]));
    expect(sites[0]!.attributes).toMatchObject(attrs);
  });

  it.each(['right', 'left'] as const)('matches the original (%s padding)', async (padding) => {
    const { model } = rewriteModel(original);
    const feed = corpusInputs(original, padding);
    const want = await runOriginal(bytes, feed);
    const got = await runRewritten(model, feed);
    for (const [name, ref] of Object.entries(want)) expect(relativeMaxError(ref, got[name]!), name).toBeLessThan(file.includes('fp16') ? 2e-2 : 1e-4);
  });
});
