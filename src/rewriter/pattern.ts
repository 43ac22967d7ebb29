// A small declarative pattern language over the graph, in the spirit of onnxscript's rewriter:
// a pattern is written as the ops it matches; variables bind values, `constant` binds a constant
// tensor, `.commute()` lets a binary op match either input order, `.optional()` lets a node be
// absent (the pattern then continues on the same value).
import type { ConstValue, Graph, Node } from '../ir/index.js';

/** How a value's constant contents are found (initializers, Constant nodes, folded values). */
export type ConstResolver = (value: string | undefined) => ConstValue | undefined;

export type Pattern = OpPattern | VarPattern | ConstPattern;

export interface VarPattern { kind: 'var'; name: string }
export interface ConstPattern { kind: 'const'; name: string; test?: (c: ConstValue) => boolean }

export class OpPattern {
  readonly kind = 'op';
  commutative = false;
  isOptional = false;
  binding?: string;
  test?: (n: Node) => boolean;
  constructor(readonly opType: string, readonly inputs: Pattern[], readonly domain = '') {}
  /** Matches either order of the two inputs. */
  commute(): this { this.commutative = true; return this; }
  /** The node may be absent: then the value itself is matched against the first input's pattern. */
  optional(): this { this.isOptional = true; return this; }
  /** Binds the matched node under `name`. */
  as(name: string): this { this.binding = name; return this; }
  /** An extra condition on the node (attributes). */
  where(test: (n: Node) => boolean): this { this.test = test; return this; }
}

export const op = (opType: string, ...inputs: Pattern[]): OpPattern => new OpPattern(opType, inputs);
export const msOp = (opType: string, ...inputs: Pattern[]): OpPattern => new OpPattern(opType, inputs, 'com.microsoft');
export const v = (name: string): VarPattern => ({ kind: 'var', name });
export const constant = (name: string, test?: (c: ConstValue) => boolean): ConstPattern => ({ kind: 'const', name, test });

export interface Match {
  /** Variable name -> value name. */
  values: Map<string, string>;
  /** Bound node name -> node. */
  nodes: Map<string, Node>;
  consts: Map<string, ConstValue>;
  /** Every node the match went through. */
  matched: Node[];
}

function emptyMatch(): Match { return { values: new Map(), nodes: new Map(), consts: new Map(), matched: [] }; }
function copy(m: Match): Match { return { values: new Map(m.values), nodes: new Map(m.nodes), consts: new Map(m.consts), matched: [...m.matched] }; }

function matchInto(g: Graph, p: Pattern, value: string | undefined, m: Match, resolve: ConstResolver): Match | undefined {
  if (p.kind === 'var') {
    if (!value) return undefined;
    const bound = m.values.get(p.name);
    if (bound !== undefined) return bound === value ? m : undefined;
    m.values.set(p.name, value);
    return m;
  }
  if (p.kind === 'const') {
    const c = resolve(value);
    if (!c || (p.test && !p.test(c))) return undefined;
    m.consts.set(p.name, c);
    m.values.set(p.name, value!);
    return m;
  }
  const node = g.producerOf(value);
  const fits = node && node.op === p.opType && node.domain === p.domain && (!p.test || p.test(node));
  if (!fits) return p.isOptional ? matchInto(g, p.inputs[0]!, value, m, resolve) : undefined;
  const orders = p.commutative && p.inputs.length === 2 ? [[0, 1], [1, 0]] : [p.inputs.map((_, i) => i)];
  for (const order of orders) {
    let cur: Match | undefined = copy(m);
    cur.matched.push(node);
    if (p.binding) cur.nodes.set(p.binding, node);
    for (let k = 0; k < p.inputs.length && cur; k++) cur = matchInto(g, p.inputs[k]!, node.input(order[k]!), cur, resolve);
    if (cur) return cur;
  }
  // An optional node that is present but does not fit its inputs: try without it.
  return p.isOptional ? matchInto(g, p.inputs[0]!, value, m, resolve) : undefined;
}

/** Matches `pattern` against the producer chain of `value`. */
export function match(g: Graph, pattern: Pattern, value: string | undefined, resolve?: ConstResolver): Match | undefined {
  return matchInto(g, pattern, value, emptyMatch(), resolve ?? ((x) => g.constant(x)));
}
