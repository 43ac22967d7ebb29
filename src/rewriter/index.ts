// The rewriter: finds attention sites in an ONNX model and replaces each proven one with
// fa_onnx.FlashAttention (ops/README.md). What cannot be proven is left as it is, with a reason.
import { clone } from '@bufbuild/protobuf';
import { NodeProtoSchema, type ModelProto } from 'onnx-buf';
import { runPasses } from './engine.js';
import type { RewriteOptions, SiteReport } from './emit.js';

export type { RewriteOptions, SiteReport } from './emit.js';
export { FA_DOMAIN } from './emit.js';

/** Rewrites a copy of `model`; the input model is not changed. */
export function rewriteModel(model: ModelProto, options: RewriteOptions = {}): { model: ModelProto; sites: SiteReport[] } {
  const out = copyForRewrite(model);
  const sites = runPasses(out, options);
  return { model: out, sites };
}

/** The attention sites of `model` and what each would become; nothing is changed. */
export function inspectModel(model: ModelProto, options: RewriteOptions = {}): SiteReport[] {
  // The same proofs and form choices as a rewrite, on a copy, so inspect never promises more.
  return rewriteModel(model, options).sites;
}

/**
 * A copy the rewrite may change: nodes are deep-copied (their outputs get renamed), the lists it
 * edits are new arrays, and tensors (weights) are shared, never copied: they are not modified.
 */
function copyForRewrite(model: ModelProto): ModelProto {
  const g = model.graph;
  return {
    ...model,
    opsetImport: model.opsetImport.map((o) => ({ ...o })),
    graph: g && {
      ...g,
      node: g.node.map((n) => clone(NodeProtoSchema, n)),
      initializer: [...g.initializer],
      valueInfo: [...g.valueInfo],
    },
  };
}
