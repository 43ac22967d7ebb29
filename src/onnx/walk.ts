import {
  AttributeProto_AttributeType as AT,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';

/** Subgraphs held by a node's attributes (If branches, Loop/Scan bodies). */
export function subgraphsOf(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute) {
    if (a.type === AT.GRAPH && a.g) out.push(a.g);
    if (a.type === AT.GRAPHS) out.push(...a.graphs);
  }
  return out;
}

/** A tensor anywhere in the model, with a description of where it sits (for messages). */
export interface TensorSite {
  tensor: TensorProto;
  where: string;
}

/** Every TensorProto a model holds: initializers, sparse ones, attribute tensors, in subgraphs and functions too. */
export function allTensors(model: ModelProto): TensorSite[] {
  const out: TensorSite[] = [];
  const fromNodes = (nodes: NodeProto[], scope: string) => {
    for (const n of nodes) {
      for (const a of n.attribute) {
        const at = `attribute '${a.name}' of node '${n.name || n.opType}'${scope}`;
        if (a.t) out.push({ tensor: a.t, where: at });
        for (const t of a.tensors) out.push({ tensor: t, where: at });
        if (a.sparseTensor?.values) out.push({ tensor: a.sparseTensor.values, where: at });
        if (a.sparseTensor?.indices) out.push({ tensor: a.sparseTensor.indices, where: at });
        for (const s of a.sparseTensors) {
          if (s.values) out.push({ tensor: s.values, where: at });
          if (s.indices) out.push({ tensor: s.indices, where: at });
        }
        if (a.g) fromGraph(a.g, ` in subgraph '${a.g.name}'`);
        for (const g of a.graphs) fromGraph(g, ` in subgraph '${g.name}'`);
      }
    }
  };
  const fromGraph = (g: GraphProto, scope: string) => {
    for (const t of g.initializer) out.push({ tensor: t, where: `initializer '${t.name}'${scope}` });
    for (const s of g.sparseInitializer) {
      const name = s.values?.name ?? '';
      if (s.values) out.push({ tensor: s.values, where: `sparse initializer '${name}'${scope}` });
      if (s.indices) out.push({ tensor: s.indices, where: `indices of sparse initializer '${name}'${scope}` });
    }
    fromNodes(g.node, scope);
  };
  if (model.graph) fromGraph(model.graph, '');
  for (const f of model.functions) fromNodes(f.node, ` in function '${f.domain}.${f.name}'`);
  for (const t of model.trainingInfo) {
    if (t.initialization) fromGraph(t.initialization, ' in training initialization');
    if (t.algorithm) fromGraph(t.algorithm, ' in training algorithm');
  }
  return out;
}
