// Building small ONNX models in code for the pattern tests.
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType as DT, type ModelProto } from 'onnx-buf';

export type Dim = number | string;
type Attr = number | string | number[] | { floats: number[] } | { int64Tensor: number[] };

export class GraphBuilder {
  private nodes: object[] = [];
  private inputs: object[] = [];
  private outputs: object[] = [];
  private inits: object[] = [];
  private count = 0;
  constructor(private readonly opset = 17) {}

  private vi(name: string, elemType: number, dims: Dim[]) {
    return {
      name,
      type: { value: { case: 'tensorType' as const, value: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { value: { case: 'dimValue' as const, value: BigInt(d) } } : { value: { case: 'dimParam' as const, value: d } })) } } } },
    };
  }
  input(name: string, dims: Dim[], elemType: number = DT.FLOAT): string { this.inputs.push(this.vi(name, elemType, dims)); return name; }
  output(name: string, dims: Dim[], elemType: number = DT.FLOAT): void { this.outputs.push(this.vi(name, elemType, dims)); }
  /** An int64 initializer (shapes, axes). */
  ints(values: number[], dims: number[] = [values.length]): string {
    const name = `c${this.count++}`;
    this.inits.push({ name, dataType: DT.INT64, dims: dims.map(BigInt), int64Data: values.map(BigInt) });
    return name;
  }
  /** An int32 initializer (sequence lengths). */
  int32s(values: number[], dims: number[] = [values.length]): string {
    const name = `i${this.count++}`;
    this.inits.push({ name, dataType: DT.INT32, dims: dims.map(BigInt), int32Data: values });
    return name;
  }
  /** A float32 initializer (scales, fills, weights). */
  floats(values: number[], dims: number[] = []): string {
    const name = `f${this.count++}`;
    const raw = new Uint8Array(new Float32Array(values).buffer);
    this.inits.push({ name, dataType: DT.FLOAT, dims: dims.map(BigInt), rawData: raw });
    return name;
  }
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, nOut = 1, domain = ''): string[] {
    const name = `${op}_${this.count++}`;
    const outs = Array.from({ length: nOut }, (_, k) => `${name}_out${k}`);
    const attribute = Object.entries(attrs).map(([k, v]) => {
      if (typeof v === 'string') return { name: k, type: 3, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name: k, type: 7, ints: v.map(BigInt) };
      if (typeof v === 'object' && 'int64Tensor' in v) return { name: k, type: 4, t: { dataType: DT.INT64, dims: [BigInt(v.int64Tensor.length)], int64Data: v.int64Tensor.map(BigInt) } };
      if (typeof v === 'object') return { name: k, type: 6, floats: v.floats };
      return Number.isInteger(v) && k !== 'scale' && k !== 'softcap' ? { name: k, type: 2, i: BigInt(v) } : { name: k, type: 1, f: v };
    });
    this.nodes.push({ opType: op, domain, name, input: inputs, output: outs, attribute });
    return outs;
  }
  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}): string { return this.node(op, inputs, attrs)[0]!; }
  /** Renames the last node's output to a graph output name. */
  build(outputValue: string, outName = 'y', dims: Dim[] = [], elemType: number = DT.FLOAT): ModelProto {
    this.nodes.push({ opType: 'Identity', name: 'out_identity', input: [outputValue], output: [outName], attribute: [] });
    if (!this.outputs.length) this.output(outName, dims, elemType);
    return create(ModelProtoSchema, {
      irVersion: 8n,
      opsetImport: [{ domain: '', version: BigInt(this.opset) }],
      producerName: 'fa-onnx-rewriter-test',
      metadataProps: [{ key: 'kept', value: 'yes' }],
      graph: { name: 'g', node: this.nodes as never, input: this.inputs as never, output: this.outputs as never, initializer: this.inits as never },
    });
  }
}

export const bytesOf = (m: ModelProto): Uint8Array => toBinary(ModelProtoSchema, m);
export { DT };
