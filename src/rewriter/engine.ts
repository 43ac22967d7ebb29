// The rewrite engine: runs each pass over its anchor ops once, in graph order (linear in the graph),
// emits the fused nodes, then removes what became dead in one sweep. Passes only prove and plan.
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema, type ModelProto } from 'onnx-buf';
import { Graph, inferFacts, type Facts, type Node } from '../ir/index.js';
import { FA_DOMAIN, emitAttention, type AttentionPlan, type RewriteOptions, type SiteReport } from './emit.js';
import { PATTERN as DECOMPOSED, planDecomposedAttention } from './passes/decomposed-attention.js';
import { PATTERN as ONNX_ATTENTION, planOnnxAttention } from './passes/onnx-attention.js';
import { PATTERN as MS_MHA, planMsMultiHeadAttention } from './passes/ms-attention.js';
import { PATTERN as MS_GQA, planMsGroupQueryAttention } from './passes/ms-group-query-attention.js';
import { PATTERN as MS_ATTENTION, planMsPackedAttention } from './passes/ms-packed-attention.js';

export interface Pass {
  name: string;
  /** The op (and domain) whose nodes anchor a site. */
  anchor: { op: string; domain: string };
  plan(g: Graph, facts: Facts, node: Node): AttentionPlan | string;
}

export const PASSES: Pass[] = [
  { name: DECOMPOSED, anchor: { op: 'Softmax', domain: '' }, plan: planDecomposedAttention },
  { name: ONNX_ATTENTION, anchor: { op: 'Attention', domain: '' }, plan: planOnnxAttention },
  { name: MS_MHA, anchor: { op: 'MultiHeadAttention', domain: 'com.microsoft' }, plan: planMsMultiHeadAttention },
  { name: MS_GQA, anchor: { op: 'GroupQueryAttention', domain: 'com.microsoft' }, plan: planMsGroupQueryAttention },
  { name: MS_ATTENTION, anchor: { op: 'Attention', domain: 'com.microsoft' }, plan: planMsPackedAttention },
];

export function runPasses(model: ModelProto, options: RewriteOptions): SiteReport[] {
  if (!model.graph) return [];
  const g = new Graph(model);
  const facts = inferFacts(g);
  const sites: SiteReport[] = [];
  const byOp = new Map<string, Node[]>();
  for (const n of g.nodes) {
    const key = `${n.domain}:${n.op}`;
    const list = byOp.get(key);
    if (list) list.push(n); else byOp.set(key, [n]);
  }
  for (const pass of PASSES) {
    for (const node of byOp.get(`${pass.anchor.domain}:${pass.anchor.op}`) ?? []) {
      if (node.removed) continue;
      const plan = pass.plan(g, facts, node);
      if (typeof plan === 'string') {
        sites.push({ id: node.id, pattern: pass.name, status: 'skipped', reason: plan, removedNodes: [] });
        continue;
      }
      const r = emitAttention(g, facts, plan, options);
      if (typeof r === 'string') sites.push({ id: plan.id, pattern: plan.pattern, status: 'skipped', reason: r, removedNodes: [] });
      else sites.push(r);
    }
  }
  {
    const removed = g.commit();
    for (const s of sites) s.removedNodes = s.removedNodes.filter((id) => removed.has(id));
    if (sites.some((s) => s.status === 'fused') && !model.opsetImport.some((o) => o.domain === FA_DOMAIN)) {
      model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: FA_DOMAIN, version: 1n }));
    }
  }
  return sites;
}
