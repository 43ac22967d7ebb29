// The rewriter: finds attention sites in an ONNX model and replaces each proven one with
// fa_onnx.FlashAttention (ops/README.md). What cannot be proven is left as it is, with a reason.
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
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
 * A copy the rewrite may change, without copying the weights: the initializer list is set aside
 * while the rest is cloned (ONNX is proto2: spreading messages would lose fields that sit on the
 * prototype), then the copy gets a new list of the same, unmodified tensors.
 */
function copyForRewrite(model: ModelProto): ModelProto {
  const g = model.graph;
  if (!g) return clone(ModelProtoSchema, model);
  const initializers = g.initializer;
  g.initializer = [];
  try {
    const out = clone(ModelProtoSchema, model);
    out.graph!.initializer = [...initializers];
    return out;
  } finally {
    g.initializer = initializers;
  }
}
