// Shape, type and small-value inference over a Graph, in node order (the graph is topologically
// sorted). Dims are numbers or symbolic monomials (dims.ts); small integer tensors (shape
// arithmetic: Shape -> Gather -> Concat -> Reshape) also carry their element values, symbolic or
// not, so reshapes that exporters build at run time still give proven output shapes.
import { DT, type ConstValue } from './constants.js';
import { freshDim, symDim, type Dim } from './dims.js';
import { Node, type Graph } from './graph.js';
import { BINARY, COMPARE, FOLD_UNARY, MAX_TRACKED, UNARY_SAME, broadcastShapes, broadcastValues, handlers } from './infer-ops.js';

export { broadcastShapes, reshapeShape } from './infer-ops.js';

export interface ValueFacts {
  dtype?: number;
  shape?: Dim[];
  /** Element values (row-major) of a small integer/bool tensor, when known. */
  value?: Dim[];
}

export class Facts {
  private readonly facts = new Map<string, ValueFacts>();
  constructor(private readonly graph: Graph) {
    // Seeds: graph inputs and value_info (exporters' own inference), initializers.
    for (const vi of [...graph.proto.input, ...graph.proto.valueInfo, ...graph.proto.output]) {
      const tt = vi.type?.value.case === 'tensorType' ? vi.type.value.value : undefined;
      if (!tt) continue;
      const shape = tt.shape ? tt.shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? symDim(d.value.value) : freshDim('vi'))) : undefined;
      // Exporters' value_info dim names (e.g. "s0") are their own: only static dims are trusted
      // for intermediate values; graph inputs keep their symbolic names.
      const trusted = graph.graphInputs.has(vi.name) ? shape : shape?.every((d) => typeof d === 'number') ? shape : undefined;
      this.facts.set(vi.name, { dtype: tt.elemType || undefined, shape: trusted });
    }
    for (const [name, t] of graph.initializers) {
      // Only small initializers are decoded (shape arithmetic); weights are never read here.
      const count = t.dims.reduce((a, d) => a * Number(d), 1);
      const c = count <= MAX_TRACKED ? graph.constant(name) : undefined;
      this.facts.set(name, { dtype: t.dataType, shape: t.dims.map(Number), value: c && c.data.length <= MAX_TRACKED ? c.data : undefined });
    }
    for (const node of graph.nodes) this.inferNode(node);
  }

  get(value: string | undefined): ValueFacts | undefined { return value ? this.facts.get(value) : undefined; }
  shape(value: string | undefined): Dim[] | undefined { return this.get(value)?.shape; }
  dtype(value: string | undefined): number | undefined { return this.get(value)?.dtype; }
  rank(value: string | undefined): number | undefined { return this.get(value)?.shape?.length; }
  set(value: string, f: ValueFacts): void { this.facts.set(value, f); }

  /**
   * An If whose condition inference knows takes one branch: its nodes are inferred like the outer
   * graph's (they see outer values), and its outputs become the If's. Branch names that would
   * shadow outer names stop it (unknown outputs instead).
   */
  private inferIf(node: Node, cond: ValueFacts | undefined): ValueFacts[] | undefined {
    const c = cond?.value?.[0];
    if (typeof c !== 'number' || cond!.value!.length !== 1) return undefined;
    const branch = node.attr(c ? 'then_branch' : 'else_branch')?.g;
    if (!branch || branch.node.length > 512) return undefined;
    for (const n of branch.node) for (const o of n.output) if (o && this.facts.has(o)) return undefined;
    for (const p of branch.node) this.inferNode(new Node(p, -1));
    return branch.output.map((o) => this.facts.get(o.name) ?? {});
  }

  /** Infers one node's outputs; keeps existing (seeded) facts where inference knows less. */
  inferNode(node: Node): void {
    const ins = node.inputs.map((x) => (x ? this.facts.get(x) : undefined));
    let outs: ValueFacts[] | undefined;
    if (node.op === 'If' && node.domain === '') outs = this.inferIf(node, ins[0]);
    const h = handlers[node.op];
    if (node.domain === '' || node.domain === 'com.microsoft') {
      if (h) outs = h(node, ins, this.graph, this);
      else if (UNARY_SAME.has(node.op)) {
        const fold = Object.hasOwn(FOLD_UNARY, node.op) ? FOLD_UNARY[node.op] : undefined;
        const v = ins[0]?.value;
        const value = fold && v && v.every((x) => typeof x === 'number') ? (v as number[]).map(fold) : undefined;
        outs = [{ dtype: ins[0]?.dtype, shape: ins[0]?.shape, value }];
      }
      else if (BINARY.has(node.op)) {
        const shape = broadcastShapes([ins[0]?.shape, ins[1]?.shape]);
        const value = shape && ins[0] && ins[1] ? broadcastValues(node.op, ins[0], ins[1], shape) : undefined;
        outs = [{ dtype: COMPARE.has(node.op) ? DT.BOOL : ins[0]?.dtype ?? ins[1]?.dtype, shape, value }];
      }
    }
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const mine = outs?.[k];
      const seeded = this.facts.get(o);
      this.facts.set(o, {
        dtype: mine?.dtype ?? seeded?.dtype,
        shape: mine?.shape ?? seeded?.shape ?? undefined,
        value: mine?.value,
      });
    });
  }
}

/** Runs inference over the whole graph. */
export function inferFacts(graph: Graph): Facts { return new Facts(graph); }

/** A constant, or a value inference folded (e.g. a scale computed from a static head size). */
export function knownConstant(graph: Graph, facts: Facts, value: string | undefined): ConstValue | undefined {
  const c = graph.constant(value);
  if (c) return c;
  const f = facts.get(value);
  if (!f?.value || !f.shape || f.dtype === undefined) return undefined;
  if (!f.value.every((x) => typeof x === 'number') || !f.shape.every((d) => typeof d === 'number')) return undefined;
  return { dtype: f.dtype, dims: f.shape as number[], data: f.value as number[] };
}
