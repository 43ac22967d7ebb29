import type { GraphProto, ModelProto, NodeProto } from 'onnx-buf';
import { OnnxError } from './errors.js';
import { checkExternalData } from './external-data.js';
import { subgraphsOf } from './walk.js';

/**
 * The newest ONNX this tool knows: ONNX 1.20 (IR version 13, default-domain opset 25), the schema
 * onnx-buf decodes losslessly and what ONNX Runtime 1.30 loads. Newer models may use fields or
 * operator semantics the rewriter cannot see, so they are refused rather than guessed at.
 */
export const MAX_IR_VERSION = 13n;
export const MAX_OPSET = 25n;
const MIN_IR_VERSION = 3n; // the first IR with opset imports

export interface ValidateOptions {
  /** Folder external data locations are relative to; external data is not checked without it. */
  baseDir?: string;
}

/** Checks what the rewriter relies on; throws an OnnxError naming the first problem found. */
export function validateModel(model: ModelProto, what: string, options: ValidateOptions = {}): void {
  checkVersions(model, what);
  const graph = model.graph!;
  checkGraph(graph, new Set(), what, true);
  for (const f of model.functions) {
    checkNodes(f.node, new Set(f.input), [...f.output], `${what}, function '${f.domain}.${f.name}'`);
  }
  if (options.baseDir !== undefined) checkExternalData(model, options.baseDir);
}

function checkVersions(model: ModelProto, what: string): void {
  const ir = model.irVersion;
  if (ir < MIN_IR_VERSION || ir > MAX_IR_VERSION) {
    throw new OnnxError(
      'unsupported-ir',
      `${what} has IR version ${ir}; supported: ${MIN_IR_VERSION} to ${MAX_IR_VERSION}`,
    );
  }
  // A model may import no default-domain opset at all (e.g. only ai.onnx.ml): nothing to check then.
  const onnx = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (onnx && (onnx.version < 1n || onnx.version > MAX_OPSET)) {
    throw new OnnxError(
      'unsupported-opset',
      `${what} uses ONNX opset ${onnx.version}; supported: 1 to ${MAX_OPSET}`,
    );
  }
}

function checkGraph(graph: GraphProto, outer: ReadonlySet<string>, what: string, main = false): void {
  // Only this graph's own names count as redefinitions; subgraphs may reuse outer names.
  const local = new Set<string>();
  for (const v of graph.input) local.add(v.name);
  for (const t of graph.initializer) local.add(t.name);
  for (const s of graph.sparseInitializer) if (s.values) local.add(s.values.name);
  const defined = new Set([...outer, ...local]);
  const where = graph.name && !main ? `${what}, subgraph '${graph.name}'` : what;
  checkNodes(graph.node, defined, graph.output.map((o) => o.name), where, local);
}

const label = (n: NodeProto) => `node '${n.name || '(unnamed)'}' (${n.opType})`;

/**
 * Every name a node reads must come from the enclosing scope or another node's output, and the
 * nodes must form no cycle (ONNX requires a DAG; the order in the file does not matter here).
 */
function checkNodes(
  nodes: NodeProto[], scope: ReadonlySet<string>, outputs: string[], what: string, local: ReadonlySet<string> = scope,
): void {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) =>
    n.output.forEach((o) => {
      if (!o) return;
      // ONNX graphs are in SSA form: each name is assigned once.
      const other = producer.get(o);
      if (other !== undefined || local.has(o)) {
        const by = other !== undefined ? label(nodes[other]!) : 'a graph input or initializer';
        throw new OnnxError('duplicate-name', `${what}: ${label(n)} writes '${o}', which ${by} already defines`);
      }
      producer.set(o, i);
    }),
  );
  const deps: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const name of readsOf(n)) {
      if (!name) continue;
      const p = producer.get(name);
      if (p !== undefined) deps[i]!.push(p);
      else if (!scope.has(name)) {
        throw new OnnxError(
          'undefined-input',
          `${what}: ${label(n)} reads '${name}', which no node, graph input or initializer defines ` +
            '(a missing initializer?)',
        );
      }
    }
  });
  for (const o of outputs) {
    if (!producer.has(o) && !scope.has(o)) {
      throw new OnnxError('undefined-input', `${what}: graph output '${o}' is not produced by any node`);
    }
  }
  const cycle = findCycle(deps);
  if (cycle) {
    const names = cycle.map((i) => label(nodes[i]!)).join(' -> ');
    throw new OnnxError('cyclic-graph', `${what} has a cycle: ${names}`);
  }
  // Subgraphs see everything defined out here.
  const inner = new Set(scope);
  for (const k of producer.keys()) inner.add(k);
  for (const n of nodes) for (const g of subgraphsOf(n)) checkGraph(g, inner, `${what}, ${label(n)}`);
}

/** Names a node reads: its inputs and the outer-scope names its subgraphs use. */
function readsOf(node: NodeProto): string[] {
  const names = [...node.input];
  for (const g of subgraphsOf(node)) names.push(...freeNames(g));
  return names;
}

function freeNames(graph: GraphProto): Set<string> {
  const local = new Set<string>();
  for (const v of graph.input) local.add(v.name);
  for (const t of graph.initializer) local.add(t.name);
  for (const s of graph.sparseInitializer) if (s.values) local.add(s.values.name);
  for (const n of graph.node) for (const o of n.output) local.add(o);
  const free = new Set<string>();
  for (const n of graph.node) for (const name of readsOf(n)) if (name && !local.has(name)) free.add(name);
  for (const o of graph.output) if (!local.has(o.name)) free.add(o.name);
  return free;
}

/** Iterative DFS (graphs have many thousands of nodes: no recursion); returns one cycle's nodes. */
function findCycle(deps: number[][]): number[] | undefined {
  const state = new Uint8Array(deps.length); // 0 new, 1 on stack, 2 done
  const parent = new Int32Array(deps.length).fill(-1);
  for (let root = 0; root < deps.length; root++) {
    if (state[root]) continue;
    const stack: Array<[number, number]> = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [v, k] = top;
      if (k < deps[v]!.length) {
        top[1]++;
        const w = deps[v]![k]!;
        if (state[w] === 0) {
          state[w] = 1;
          parent[w] = v;
          stack.push([w, 0]);
        } else if (state[w] === 1) {
          // w is on the stack. parent[] points from a producer to its consumer, so walking
          // parents from v to w lists the cycle in data-flow order; w feeds v to close it.
          const cycle = [v];
          for (let u = v; u !== w; ) cycle.push((u = parent[u]!));
          return [...cycle, v];
        }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  return undefined;
}
