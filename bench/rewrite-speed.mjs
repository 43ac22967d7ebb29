#!/usr/bin/env node
// Rewrite speed: a 32-layer llama-like decoder (hidden 4096, 32 heads, 8 KV heads, head dim 128,
// MLP 14336, vocab 128256, fp16) whose 16 GB of weights are external data in a sparse file, so no
// real weights are written or read. Times reading + checking, rewriting and writing, and the peak
// RSS of a fresh process doing it: the target is under 1 s and memory that follows the graph.
//
// Usage: npm run build:ts && node bench/rewrite-speed.mjs [--layers N (default 32)] [--keep]
// Writes its files under bench/out/rewrite-speed/ (removed afterwards unless --keep).
import { create, toBinary } from '@bufbuild/protobuf';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ModelProtoSchema, TensorProto_DataType as DT } from 'onnx-buf';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'bench', 'out', 'rewrite-speed');
const { values } = parseArgs({ options: { layers: { type: 'string' }, keep: { type: 'boolean' }, measure: { type: 'string' } } });

if (values.measure) await measure(values.measure);
else await main();

async function main() {
  const layers = Number(values.layers ?? 32);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const { model, dataBytes } = llamaDecoder(layers);
  const modelPath = join(outDir, `llama-${layers}l.onnx`);
  writeFileSync(modelPath, toBinary(ModelProtoSchema, model));
  execFileSync('truncate', ['-s', String(dataBytes), join(outDir, 'weights.bin')]); // sparse: no disk used
  // A fresh process, so its peak RSS is the rewrite's alone.
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--measure', modelPath], { encoding: 'utf8' });
  process.stdout.write(child.stdout);
  process.stderr.write(child.stderr);
  if (!values.keep) rmSync(outDir, { recursive: true, force: true });
  process.exitCode = child.status ?? 1;
}

async function measure(modelPath) {
  const baseline = process.memoryUsage().rss;
  const onnx = await import(join(root, 'dist/esm/onnx/index.js'));
  const { rewriteModel } = await import(join(root, 'dist/esm/rewriter/index.js'));
  const afterImport = process.resourceUsage().maxRSS * 1024;
  const t0 = performance.now();
  const loaded = onnx.readModelFile(modelPath);
  const t1 = performance.now();
  const { model, sites } = rewriteModel(loaded.model, { target: 'cuda' });
  const t2 = performance.now();
  const out = modelPath.replace(/\.onnx$/, '.fa.onnx');
  onnx.writeModelFile(model, out, { sourceDir: loaded.baseDir });
  const t3 = performance.now();
  const peak = process.resourceUsage().maxRSS * 1024;
  // The output must be a valid model whose external references still resolve (checked by size).
  const written = onnx.readModelFile(out).model.graph.node.filter((n) => n.domain === 'fa_onnx').length;
  const mib = (n) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const fused = sites.filter((s) => s.status === 'fused').length;
  const report = {
    nodes: loaded.model.graph.node.length,
    protoBytes: loaded.byteLength,
    externalDataBytes: statSync(join(dirname(modelPath), 'weights.bin')).size,
    sites: sites.length,
    fused,
    readMs: +(t1 - t0).toFixed(1),
    rewriteMs: +(t2 - t1).toFixed(1),
    writeMs: +(t3 - t2).toFixed(1),
    totalMs: +(t3 - t0).toFixed(1),
    peakRssBytes: peak,
    rssAfterImportsBytes: afterImport,
  };
  console.log(`graph: ${report.nodes} nodes, proto ${onnx.formatBytes(report.protoBytes)}, external weights ${(report.externalDataBytes / 2 ** 30).toFixed(1)} GiB (sparse)`);
  console.log(`sites: ${sites.length} found, ${fused} fused; the written model holds ${written} fa_onnx nodes`);
  console.log(`time: read+check ${report.readMs} ms, rewrite ${report.rewriteMs} ms, write ${report.writeMs} ms, total ${report.totalMs} ms`);
  console.log(`peak RSS: ${mib(peak)} (node + modules alone: ${mib(afterImport)}; at start ${mib(baseline)})`);
  console.log(JSON.stringify(report));
}

/** The decoder, as TorchScript's eager export writes attention: MatMul, scale, additive mask, Softmax, MatMul. */
function llamaDecoder(layers) {
  const hidden = 4096, heads = 32, kvHeads = 8, headDim = 128, mlp = 14336, vocab = 128256;
  const nodes = [];
  const inits = [];
  let offset = 0n;
  let counter = 0;
  const name = (p) => `${p}_${counter++}`;
  const weight = (n, dims) => {
    const bytes = dims.reduce((a, b) => a * BigInt(b), 2n); // fp16
    inits.push({ name: n, dataType: DT.FLOAT16, dims: dims.map(BigInt), dataLocation: 1,
      externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(bytes) }] });
    offset += (bytes + 4095n) / 4096n * 4096n; // page-aligned, as exporters do
    return n;
  };
  const constant = (values, type = DT.INT64) => {
    const n = name('const');
    inits.push(type === DT.INT64
      ? { name: n, dataType: DT.INT64, dims: [BigInt(values.length)], int64Data: values.map(BigInt) }
      : { name: n, dataType: type, dims: [], rawData: new Uint8Array(new Uint16Array([values[0]]).buffer) });
    return n;
  };
  const op = (opType, inputs, attrs = {}, prefix = opType) => {
    const out = name(prefix);
    const attribute = Object.entries(attrs).map(([k, v]) =>
      Array.isArray(v) ? { name: k, type: 7, ints: v.map(BigInt) } : Number.isInteger(v) ? { name: k, type: 2, i: BigInt(v) } : { name: k, type: 1, f: v });
    nodes.push({ name: `/${out}`, opType, input: inputs, output: [out], attribute });
    return out;
  };
  const halfOf = (x) => { const f = new Float32Array([x]); const u = new Uint32Array(f.buffer)[0]; return ((u >> 16) & 0x8000) | ((((u >> 23) & 0xff) - 112) << 10) | ((u >> 13) & 0x3ff); };
  const eps = constant([halfOf(1e-5)], DT.FLOAT16);
  const two = constant([halfOf(2)], DT.FLOAT16);
  const scale = constant([halfOf(1 / Math.sqrt(headDim))], DT.FLOAT16);
  const rmsNorm = (x, l, which) => {
    const v = op('ReduceMean', [op('Pow', [x, two])], { axes: [-1], keepdims: 1 });
    const n = op('Div', [x, op('Sqrt', [op('Add', [v, eps])])]);
    return op('Mul', [n, weight(`model.layers.${l}.${which}.weight`, [hidden])]);
  };
  const splitHeads = (x, h) => op('Transpose', [op('Reshape', [x, constant([0, 0, h, headDim])])], { perm: [0, 2, 1, 3] });

  let x = op('Gather', [weight('model.embed_tokens.weight', [vocab, hidden]), 'input_ids'], {}, 'embed');
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.self_attn`;
    const h = rmsNorm(x, l, 'input_layernorm');
    const q = splitHeads(op('MatMul', [h, weight(`${p}.q_proj.weight`, [hidden, heads * headDim])]), heads);
    let k = splitHeads(op('MatMul', [h, weight(`${p}.k_proj.weight`, [hidden, kvHeads * headDim])]), kvHeads);
    let v = splitHeads(op('MatMul', [h, weight(`${p}.v_proj.weight`, [hidden, kvHeads * headDim])]), kvHeads);
    // repeat_kv: [B, 8, S, D] -> [B, 8, 4, S, D] -> [B, 32, S, D]
    const repeat = (t) => op('Reshape', [op('Expand', [op('Unsqueeze', [t, constant([2])]),
      op('Concat', [op('Shape', [t], { end: 2 }), constant([heads / kvHeads]), op('Shape', [t], { start: 2 })], { axis: 0 })]), constant([0, heads, -1, headDim])]);
    k = repeat(k);
    v = repeat(v);
    const scores = op('Mul', [op('MatMul', [q, op('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale]);
    const probs = op('Softmax', [op('Add', [scores, 'attention_bias'])], { axis: -1 });
    const ctx = op('Reshape', [op('Transpose', [op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), constant([0, 0, hidden])]);
    x = op('Add', [x, op('MatMul', [ctx, weight(`${p}.o_proj.weight`, [heads * headDim, hidden])])]);
    const m = `model.layers.${l}.mlp`;
    const h2 = rmsNorm(x, l, 'post_attention_layernorm');
    const gate = op('MatMul', [h2, weight(`${m}.gate_proj.weight`, [hidden, mlp])]);
    const up = op('MatMul', [h2, weight(`${m}.up_proj.weight`, [hidden, mlp])]);
    const act = op('Mul', [op('Mul', [gate, op('Sigmoid', [gate])]), up]);
    x = op('Add', [x, op('MatMul', [act, weight(`${m}.down_proj.weight`, [mlp, hidden])])]);
  }
  const logits = op('MatMul', [rmsNorm(x, layers, 'norm'), weight('lm_head.weight', [hidden, vocab])]);
  nodes.push({ name: '/logits', opType: 'Identity', input: [logits], output: ['logits'] });
  const dim = (v) => (typeof v === 'string' ? { value: { case: 'dimParam', value: v } } : { value: { case: 'dimValue', value: BigInt(v) } });
  const tensor = (elemType, dims) => ({ value: { case: 'tensorType', value: { elemType, shape: { dim: dims.map(dim) } } } });
  const model = create(ModelProtoSchema, {
    irVersion: 8n, producerName: 'fa-onnx rewrite-speed bench', opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'llama_like_decoder', node: nodes, initializer: inits,
      input: [{ name: 'input_ids', type: tensor(DT.INT64, ['batch', 'seq']) },
        { name: 'attention_bias', type: tensor(DT.FLOAT16, ['batch', 1, 'seq', 'seq']) }],
      output: [{ name: 'logits', type: tensor(DT.FLOAT16, ['batch', 'seq', vocab]) }],
    },
  });
  return { model, dataBytes: offset };
}
