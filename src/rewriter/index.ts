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
  const out = clone(ModelProtoSchema, model);
  const sites = runPasses(out, options);
  return { model: out, sites };
}

/** The attention sites of `model` and what each would become; nothing is changed. */
export function inspectModel(model: ModelProto, options: RewriteOptions = {}): SiteReport[] {
  // The same proofs and form choices as a rewrite, on a copy, so inspect never promises more.
  return rewriteModel(model, options).sites;
}
