import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { concreteDims, generateInputs, vocabSize } from '../../src/cli/generate-inputs.js';
import { decodeModel } from '../../src/onnx/index.js';

const load = (name: string) => decodeModel(readFileSync(`models/corpus/${name}`));
const opts = { batch: 4, seq: 12, seed: 7 };

describe('generated inputs respect what each input means', () => {
  it('finds the vocabulary from the embedding Gather, through Casts and Reshapes', () => {
    for (const name of ['bert.ts17_eager.onnx', 'gpt2.dyn18_sdpa.onnx', 'llama.dyn23_sdpa.onnx', 't5.ts17_sdpa.onnx']) {
      expect(vocabSize(load(name).graph!, 'input_ids')).toBe(128);
    }
    expect(vocabSize(load('whisper.dyn18_sdpa.onnx').graph!, 'decoder_input_ids')).toBeGreaterThan(1);
  });

  it('draws token ids below the vocabulary, and pads masks without emptying a row', () => {
    const { inputs } = generateInputs(load('gpt2.ts17_eager.onnx'), opts, new Map());
    const ids = inputs.get('input_ids')!;
    expect(ids.dims).toEqual([4, 12]);
    const idValues = Array.from(ids.data as BigInt64Array, Number);
    expect(Math.max(...idValues)).toBeLessThan(128);
    expect(new Set(idValues).size).toBeGreaterThan(10);
    const mask = Array.from(inputs.get('attention_mask')!.data as BigInt64Array, Number);
    const rows = [0, 1, 2, 3].map((b) => mask.slice(b * 12, b * 12 + 12));
    expect(rows[0]).toEqual(Array(12).fill(1));
    expect(rows[1]).toEqual([...Array(9).fill(1), 0, 0, 0]); // trailing padding
    for (const r of rows) expect(r.some((v) => v === 1)).toBe(true);
  });

  it('fills static shapes as declared, and float features with random normal values', () => {
    const { inputs } = generateInputs(load('vit.dyn18_sdpa.onnx'), opts, new Map());
    const px = inputs.get('pixel_values')!;
    expect(px.dims).toEqual([2, 3, 32, 32]);
    const v = Array.from(px.data as Float32Array);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(sd - 1)).toBeLessThan(0.1);
  });

  it('gives float16 models float16 inputs', () => {
    const { inputs } = generateInputs(load('bert.ts17_eager_fp16.onnx'), opts, new Map());
    expect([...inputs.values()].map((t) => t.type)).toEqual(['int64', 'int64']);
  });
});

describe('symbolic dims of models with a key/value cache', () => {
  const spec = (name: string, type: 'int64' | 'float32', dims: Array<number | string>) => ({ name, type, dims });

  it('gives cache lengths --seq and sums for total lengths', () => {
    const known = new Map<string, number>();
    const o = { batch: 2, seq: 8, seed: 1 };
    expect(concreteDims(spec('input_ids', 'int64', ['batch_size', 'sequence_length']), o, known, true)).toEqual([2, 8]);
    expect(concreteDims(spec('past_key_values.0.key', 'float32', ['batch_size', 2, 'past_sequence_length', 16]), o, known, true)).toEqual([2, 2, 8, 16]);
    expect(concreteDims(spec('attention_mask', 'int64', ['batch_size', 'past_sequence_length + sequence_length']), o, known, true)).toEqual([2, 16]);
    expect(concreteDims(spec('attention_mask', 'int64', ['batch_size', 'total_sequence_length']), o, new Map(), true)).toEqual([2, 16]);
    expect(concreteDims(spec('x', 'float32', ['s0', 's1 * 2 - 1']), o, new Map())).toEqual([2, 15]);
  });

  it('sizes symbolic image sides and raw audio so vision and speech models accept them', () => {
    const o = { batch: 1, seq: 8, seed: 1 };
    expect(concreteDims(spec('pixel_values', 'float32', ['batch_size', 3, 'height', 'width']), o, new Map())).toEqual([1, 3, 224, 224]);
    expect(concreteDims(spec('input_values', 'float32', ['batch_size', 'sequence_length']), o, new Map())).toEqual([1, 16000]);
  });
});
