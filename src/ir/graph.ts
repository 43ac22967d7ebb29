// A mutable view of an ONNX graph: nodes in order, each value's producer and consumers, constants.
// It edits the GraphProto's node list in place when committed, so everything it does not touch
// (metadata, value_info, doc strings, unknown fields) stays as it was; value_info only gains the
// entries declareValueInfo adds.
import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AT, AttributeProtoSchema, NodeProtoSchema, TensorProtoSchema,
  TensorShapeProto_DimensionSchema, ValueInfoProtoSchema, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto,
} from 'onnx-buf';
import { readConstantAttribute, readTensor, type ConstValue } from './constants.js';
import type { Dim } from './dims.js';

export class Node {
  removed = false;
  constructor(readonly proto: NodeProto, public order: number) {}
  get op(): string { return this.proto.opType; }
  get domain(): string { return this.proto.domain === 'ai.onnx' ? '' : this.proto.domain; }
  get name(): string { return this.proto.name; }
  get inputs(): string[] { return this.proto.input; }
  get outputs(): string[] { return this.proto.output; }
  /** The input at `i`, or undefined when absent or empty (optional inputs). */
  input(i: number): string | undefined { const x = this.proto.input[i]; return x ? x : undefined; }
  attr(name: string): AttributeProto | undefined { return this.proto.attribute.find((a) => a.name === name); }
  int(name: string, dflt: number): number { const a = this.attr(name); return a ? Number(a.i) : dflt; }
  float(name: string, dflt: number): number { const a = this.attr(name); return a ? a.f : dflt; }
  ints(name: string): number[] | undefined { const a = this.attr(name); return a ? a.ints.map(Number) : undefined; }
  str(name: string, dflt: string): string { const a = this.attr(name); return a ? new TextDecoder().decode(a.s) : dflt; }
  /** A readable id for reports: the node's name, else its first output. */
  get id(): string { return this.proto.name || this.proto.output[0] || this.proto.opType; }
}

export type AttrValue = number | string | number[];

/** Builds an attribute: integers as INT, other numbers as FLOAT, strings, int lists. */
export function makeAttribute(name: string, value: AttrValue, asFloat = false): AttributeProto {
  if (typeof value === 'string') return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(value) });
  if (Array.isArray(value)) return create(AttributeProtoSchema, { name, type: AT.INTS, ints: value.map(BigInt) });
  if (asFloat || !Number.isInteger(value)) return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: value });
  return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(value) });
}

/** A TENSOR attribute holding small int32 values (a Constant node's `value`). */
export function makeInt32TensorAttribute(name: string, values: number[], dims: number[] = [values.length]): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: create(TensorProtoSchema, { dataType: 6 /* INT32 */, dims: dims.map(BigInt), int32Data: values }) });
}

/** Names a subgraph reads from enclosing scopes (inputs it does not produce itself). */
function outerReferences(g: GraphProto, into: Set<string>): void {
  const local = new Set<string>([...g.input.map((i) => i.name), ...g.initializer.map((t) => t.name)]);
  for (const n of g.node) {
    for (const a of n.attribute) {
      const subs = a.g ? [a.g] : a.graphs;
      for (const sg of subs) {
        const inner = new Set<string>();
        outerReferences(sg, inner);
        for (const x of inner) if (!local.has(x)) into.add(x);
      }
    }
    for (const x of n.input) if (x && !local.has(x)) into.add(x);
    for (const o of n.output) local.add(o);
  }
}

export class Graph {
  readonly nodes: Node[];
  readonly producer = new Map<string, Node>();
  readonly consumers = new Map<string, Node[]>();
  readonly initializers = new Map<string, TensorProto>();
  readonly graphInputs: Set<string>;
  readonly graphOutputs: Set<string>;
  /** Values that a node's subgraphs read from this scope: they count as uses by that node. */
  readonly subgraphUses = new Map<string, Node[]>();
  readonly opset: number;
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, ConstValue | null>();
  private readonly insertions = new Map<Node, NodeProto[]>();
  /** The graph inputs' dim_params, gathered on the first declareValueInfo. */
  private inputDimParams?: Set<string>;

  constructor(readonly model: ModelProto, readonly proto: GraphProto = model.graph!) {
    this.opset = Number(model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1n);
    this.graphInputs = new Set(proto.input.map((i) => i.name));
    this.graphOutputs = new Set(proto.output.map((o) => o.name));
    for (const t of proto.initializer) { this.initializers.set(t.name, t); this.names.add(t.name); }
    for (const n of this.graphInputs) this.names.add(n);
    this.nodes = proto.node.map((p, i) => new Node(p, i));
    for (const node of this.nodes) this.index(node);
    // Names inside subgraphs are taken too: a fresh name must not shadow or be shadowed.
    const inner = (g: GraphProto): void => {
      for (const n of g.node) {
        for (const o of n.output) this.names.add(o);
        for (const a of n.attribute) for (const sg of a.g ? [a.g] : a.graphs) { sg.initializer.forEach((t) => this.names.add(t.name)); sg.input.forEach((i) => this.names.add(i.name)); inner(sg); }
      }
    };
    inner(proto);
  }

  private index(node: Node): void {
    for (const x of node.inputs) if (x) this.addUse(x, node);
    for (const o of node.outputs) if (o) { this.producer.set(o, node); this.names.add(o); }
    if (node.proto.attribute.some((a) => a.g || a.graphs.length)) {
      const refs = new Set<string>();
      for (const a of node.proto.attribute) for (const sg of a.g ? [a.g] : a.graphs) outerReferences(sg, refs);
      for (const r of refs) {
        const list = this.subgraphUses.get(r) ?? [];
        list.push(node);
        this.subgraphUses.set(r, list);
        this.addUse(r, node);
      }
    }
  }

  private addUse(value: string, node: Node): void {
    const list = this.consumers.get(value);
    if (list) list.push(node); else this.consumers.set(value, [node]);
  }

  /** Live consumers of a value (a node reading it through a subgraph counts). */
  usesOf(value: string): Node[] { return (this.consumers.get(value) ?? []).filter((n) => !n.removed); }

  producerOf(value: string | undefined): Node | undefined {
    if (!value) return undefined;
    const p = this.producer.get(value);
    return p && !p.removed ? p : undefined;
  }

  isGraphOutput(value: string): boolean { return this.graphOutputs.has(value); }

  /** The value of an initializer or Constant output, when small enough to decode. */
  constant(value: string | undefined): ConstValue | undefined {
    if (!value) return undefined;
    const hit = this.constCache.get(value);
    if (hit !== undefined) return hit ?? undefined;
    let c: ConstValue | undefined;
    const init = this.initializers.get(value);
    // An initializer that is also a graph input can be overridden by the caller: not a constant.
    if (init && !this.graphInputs.has(value)) c = readTensor(init);
    else {
      const p = this.producer.get(value);
      if (p && p.op === 'Constant' && p.domain === '' && p.proto.attribute.length === 1) c = readConstantAttribute(p.proto.attribute[0]!);
    }
    this.constCache.set(value, c ?? null);
    return c;
  }

  /** A value name not yet used anywhere in this graph. */
  freshName(base: string): string {
    let name = base;
    for (let k = 1; this.names.has(name); k++) name = `${base}_${k}`;
    this.names.add(name);
    return name;
  }

  /** Adds a node that will be placed just before `before` in the node order. */
  insertBefore(before: Node, spec: { op: string; domain?: string; name: string; inputs: string[]; outputs: string[]; attributes?: AttributeProto[] }): Node {
    const proto = create(NodeProtoSchema, {
      opType: spec.op, domain: spec.domain ?? '', name: spec.name, input: spec.inputs, output: spec.outputs, attribute: spec.attributes ?? [],
    });
    const list = this.insertions.get(before) ?? [];
    list.push(proto);
    this.insertions.set(before, list);
    const node = new Node(proto, before.order - 0.5);
    this.index(node);
    this.pending.push(node);
    return node;
  }
  private readonly pending: Node[] = [];

  /**
   * Makes `node`'s output `value` come from elsewhere: the old producer's output is renamed to a
   * fresh dead name, so the new producer can take over the name (graph outputs, value_info and
   * subgraph references keep working).
   */
  detachOutput(node: Node, value: string): void {
    const k = node.proto.output.indexOf(value);
    if (k < 0) throw new Error(`node ${node.id} does not produce ${value}`);
    const dead = this.freshName(`${value}__replaced`);
    node.proto.output[k] = dead;
    this.producer.set(dead, node);
    this.producer.delete(value);
  }

  /** Makes `node` read `to` where it read `from` (for Shape reads moved to an equally shaped value). */
  replaceInput(node: Node, from: string, to: string): void {
    node.proto.input = node.proto.input.map((x) => (x === from ? to : x));
    const list = this.consumers.get(from);
    if (list) this.consumers.set(from, list.filter((n) => n !== node));
    this.addUse(to, node);
  }

  /** Sets the producer of `value` after `detachOutput` gave it up. */
  claimOutput(node: Node, value: string): void { this.producer.set(value, node); }

  /**
   * Records `value`'s element type and shape in the graph's value_info (unless an entry exists), for
   * runtimes that cannot infer the outputs of the node producing it (ONNX Runtime's custom ops):
   * without it, shape-dependent fusions after that node do not fire. Known dims are written as
   * values, symbols only when they are a graph input's dim_param, other dims left unknown.
   */
  declareValueInfo(value: string, elemType: number, shape: readonly Dim[]): void {
    if (this.graphOutputs.has(value) || this.proto.valueInfo.some((v) => v.name === value)) return;  // typed already
    this.inputDimParams ??= new Set(this.proto.input.flatMap((i) =>
      i.type?.value.case === 'tensorType' ? (i.type.value.value.shape?.dim ?? []).flatMap((d) => (d.value.case === 'dimParam' ? [d.value.value] : [])) : []));
    const params = this.inputDimParams;
    const dim = shape.map((d) => create(TensorShapeProto_DimensionSchema, {
      value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : params.has(d) ? { case: 'dimParam', value: d } : { case: undefined },
    }));
    this.proto.valueInfo.push(create(ValueInfoProtoSchema, {
      name: value, type: { value: { case: 'tensorType', value: { elemType, shape: { dim } } } },
    }));
  }

  /**
   * Writes the node list back: insertions in place, then dead nodes (no live use of any output,
   * not a graph output) removed by one backward sweep, then unused initializers dropped.
   * Returns the names of nodes that were removed.
   */
  commit(): Set<string> {
    const ordered: Node[] = [];
    const pendingByProto = new Map(this.pending.map((n) => [n.proto, n]));
    for (const node of this.nodes) {
      for (const p of this.insertions.get(node) ?? []) ordered.push(pendingByProto.get(p)!);
      ordered.push(node);
    }
    const live = new Set<string>(this.graphOutputs);
    const keep: boolean[] = new Array(ordered.length).fill(false);
    const removedIds = new Set<string>();
    for (let i = ordered.length - 1; i >= 0; i--) {
      const n = ordered[i]!;
      const needed = !n.removed && (n.outputs.some((o) => o && live.has(o)) || n.outputs.length === 0);
      if (!needed) { n.removed = true; removedIds.add(n.id); continue; }
      keep[i] = true;
      for (const x of n.inputs) if (x) live.add(x);
      for (const a of n.proto.attribute) {
        for (const sg of a.g ? [a.g] : a.graphs) { const refs = new Set<string>(); outerReferences(sg, refs); for (const r of refs) live.add(r); }
      }
    }
    this.proto.node = ordered.filter((_, i) => keep[i]).map((n) => n.proto);
    this.nodes.length = 0;
    ordered.forEach((n, i) => { if (keep[i]) { n.order = this.nodes.length; this.nodes.push(n); } });
    this.proto.initializer = this.proto.initializer.filter((t) => live.has(t.name) || this.graphInputs.has(t.name));
    const liveNames = live;
    this.proto.valueInfo = this.proto.valueInfo.filter((v) => liveNames.has(v.name) || this.producer.has(v.name) && !this.producer.get(v.name)!.removed);
    this.insertions.clear();
    this.pending.length = 0;
    return removedIds;
  }
}
