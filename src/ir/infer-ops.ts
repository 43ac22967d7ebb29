// Per-op shape, dtype and small-value rules for inference (infer.ts runs them in graph order).
import { DT, FLOAT_TYPES, readConstantAttribute, readTensor } from './constants.js';
import { dimDiv, dimMul, dimProduct, freshDim, type Dim } from './dims.js';
import type { Graph, Node } from './graph.js';
import type { Facts, ValueFacts } from './infer.js';

export const MAX_TRACKED = 64;
const BIG = 2 ** 53;
export type Handler = (n: Node, ins: (ValueFacts | undefined)[], g: Graph, facts: Facts) => ValueFacts[] | undefined;

export const UNARY_SAME = new Set(['Identity', 'Dropout', 'Neg', 'Sqrt', 'Tanh', 'Erf', 'Relu', 'Sigmoid', 'Exp', 'Log', 'Abs', 'Reciprocal',
  'Softmax', 'LogSoftmax', 'LayerNormalization', 'SimplifiedLayerNormalization', 'Gelu', 'FastGelu', 'Trilu', 'Sin', 'Cos',
  'Floor', 'Ceil', 'Round', 'Clip', 'Elu', 'LeakyRelu', 'HardSigmoid', 'Softplus', 'Softsign', 'BatchNormalization',
  'InstanceNormalization', 'GroupNormalization', 'SkipLayerNormalization', 'RotaryEmbedding', 'Mish', 'CumSum', 'Sign',
  'RMSNormalization', 'SkipSimplifiedLayerNormalization', 'HardSwish', 'Selu', 'Celu', 'ThresholdedRelu', 'Acos', 'Asin', 'Atan', 'Tan']);
/** Unary ops whose values are folded (scales computed from shapes, e.g. 1/sqrt(head_dim)). */
export const FOLD_UNARY: Record<string, (x: number) => number> = {
  Sqrt: Math.sqrt, Reciprocal: (x) => 1 / x, Neg: (x) => -x, Identity: (x) => x, Abs: Math.abs, Exp: Math.exp, Log: Math.log,
};
export const COMPARE = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor']);
export const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mod', 'BitwiseAnd', 'BitwiseOr', ...COMPARE]);

export function broadcastShapes(shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const x = s![s!.length - rank + k];
      if (x === undefined || x === 1) continue;
      if (d === 1) d = x;
      else if (d !== x) {
        // Unequal, not 1: one of them must be 1 at run time; unknowable symbolically.
        if (typeof d === 'number' && typeof x === 'number') return undefined;
        d = typeof x === 'number' ? x : typeof d === 'number' ? d : freshDim('bc');
      }
    }
    out.push(d);
  }
  return out;
}

function normAxis(a: number, rank: number): number { return a < 0 ? a + rank : a; }

function elementwise(op: string, a: Dim, b: Dim, isFloat = false): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    switch (op) {
      case 'Add': return a + b; case 'Sub': return a - b; case 'Mul': return a * b;
      case 'Div': return isFloat ? a / b : b === 0 ? undefined : Math.trunc(a / b);
      case 'Pow': return a ** b;
      case 'Mod': return b === 0 ? undefined : isFloat ? a % b : ((a % b) + b) % b;
      case 'Max': return Math.max(a, b); case 'Min': return Math.min(a, b);
      case 'Equal': return a === b ? 1 : 0; case 'Less': return a < b ? 1 : 0; case 'LessOrEqual': return a <= b ? 1 : 0;
      case 'Greater': return a > b ? 1 : 0; case 'GreaterOrEqual': return a >= b ? 1 : 0;
      case 'And': return a && b ? 1 : 0; case 'Or': return a || b ? 1 : 0;
      default: return undefined;
    }
  }
  switch (op) {
    case 'Mul': return dimMul(a, b);
    case 'Div': return dimDiv(a, b);
    // Symbolic dims are >= 0: never equal to a negative constant (the "-1 means infer" idiom).
    case 'Equal': return a === b ? 1 : (typeof a === 'number' && a < 0) || (typeof b === 'number' && b < 0) ? 0 : undefined;
    case 'Max': return a === b ? a : undefined; case 'Min': return a === b ? a : undefined;
    // n - L with L symbolic: an opaque symbol that Slice recognises ("the last L of n").
    case 'Sub': return typeof a === 'number' && typeof b === 'string' && /^[A-Za-z_?][\w?]*$/.test(b) ? `(${a}-${b})` : undefined;
    default: return undefined;
  }
}

export function broadcastValues(op: string, a: ValueFacts, b: ValueFacts, outShape: Dim[]): Dim[] | undefined {
  const isFloat = a.dtype !== undefined && FLOAT_TYPES.has(a.dtype);
  if (!a.value || !b.value) return undefined;
  const n = outShape.reduce<number>((p, d) => (typeof d === 'number' ? p * d : NaN), 1);
  if (!Number.isFinite(n) || n > MAX_TRACKED) return undefined;
  const pick = (v: Dim[], i: number) => (v.length === 1 ? v[0]! : v.length === n ? v[i]! : undefined);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = pick(a.value, i), y = pick(b.value, i);
    if (x === undefined || y === undefined) return undefined;
    const r = elementwise(op, x, y, isFloat);
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

/** Values of a small static tensor re-indexed: out[idx] = x[map(idx)] (row-major). */
function remap(value: Dim[] | undefined, inShape: Dim[], outShape: Dim[], map: (idx: number[]) => number[]): Dim[] | undefined {
  if (!value || !inShape.every((d) => typeof d === 'number') || !outShape.every((d) => typeof d === 'number')) return undefined;
  const ins = inShape as number[], outs = outShape as number[];
  const n = outs.reduce((a, b) => a * b, 1);
  if (n > MAX_TRACKED) return undefined;
  const out: Dim[] = [];
  const idx = new Array(outs.length).fill(0);
  for (let k = 0; k < n; k++) {
    const src = map(idx);
    let flat = 0;
    for (let a = 0; a < ins.length; a++) flat = flat * ins[a]! + src[a]!;
    out.push(value[flat]!);
    for (let a = outs.length - 1; a >= 0; a--) { if (++idx[a] < outs[a]!) break; idx[a] = 0; }
  }
  return out;
}

function staticCount(shape: Dim[] | undefined): number | undefined {
  if (!shape) return undefined;
  let n = 1;
  for (const d of shape) { if (typeof d !== 'number') return undefined; n *= d; }
  return n;
}

/** Reshape's output shape from its target (0 copies unless allowzero, -1 inferred). */
export function reshapeShape(input: Dim[] | undefined, target: Dim[], allowzero: boolean): Dim[] | undefined {
  const out = target.map((d, k) => (d === 0 && !allowzero ? input?.[k] : d));
  if (out.some((d) => d === undefined)) return undefined;
  const minus = out.findIndex((d) => d === -1);
  if (minus >= 0) {
    if (!input) return undefined;
    const known = dimProduct(out.filter((_, k) => k !== minus) as Dim[]);
    const rest = dimDiv(dimProduct(input), known);
    out[minus] = rest ?? freshDim('rs');
  }
  return out as Dim[];
}

function reduce(n: Node, ins: (ValueFacts | undefined)[], g: Graph): ValueFacts[] {
  const x = ins[0];
  // Reductions took axes as an attribute until opset 18 (ReduceSum: 13).
  const attrAxes = n.op === 'ReduceSum' ? g.opset < 13 : g.opset < 18;
  const v = ins[1]?.value;
  const axes = attrAxes ? n.ints('axes') : v && v.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
  if (!x?.shape || (!axes && !attrAxes && ins[1])) return [{ dtype: x?.dtype }];
  const r = x.shape.length;
  const set = new Set((axes ?? x.shape.map((_, k) => k)).map((a) => normAxis(a, r)));
  if (!axes && n.int('noop_with_empty_axes', 0)) return [{ dtype: x.dtype, shape: x.shape }];
  const keep = n.int('keepdims', 1) === 1;
  return [{ dtype: x.dtype, shape: x.shape.flatMap((d, k) => (set.has(k) ? (keep ? [1] : []) : [d])) }];
}

export const handlers: Record<string, Handler> = {
  Constant: (n, _i, g) => {
    const c = g.constant(n.outputs[0]) ?? (n.proto.attribute.length === 1 ? readConstantAttribute(n.proto.attribute[0]!) : undefined);
    if (!c) return undefined;
    return [{ dtype: c.dtype, shape: c.dims, value: c.data.length <= MAX_TRACKED ? c.data : undefined }];
  },
  Cast: (n, [x]) => {
    const to = n.int('to', 0);
    const value = x?.value && !FLOAT_TYPES.has(to) ? x.value.map((d) => (typeof d === 'number' ? Math.trunc(d) : d)) : x?.value;
    return [{ dtype: to, shape: x?.shape, value }];
  },
  CastLike: (_n, [x, y]) => [{ dtype: y?.dtype, shape: x?.shape, value: x?.value }],
  Shape: (n, [x]) => {
    if (!x?.shape) return undefined;
    const r = x.shape.length;
    const start = normAxis(n.int('start', 0), r), endAttr = n.attr('end') ? normAxis(n.int('end', r), r) : r;
    const v = x.shape.slice(Math.max(0, start), Math.min(r, endAttr));
    return [{ dtype: DT.INT64, shape: [v.length], value: v }];
  },
  Size: (_n, [x]) => [{ dtype: DT.INT64, shape: [], value: x?.shape ? [dimProduct(x.shape)] : undefined }],
  MatMul: (_n, [a, b]) => {
    if (!a?.shape || !b?.shape) return [{ dtype: a?.dtype }];
    const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape, bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
    const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)]);
    if (!batch) return [{ dtype: a.dtype }];
    const shape = [...batch, ...(a.shape.length === 1 ? [] : [as[as.length - 2]!]), ...(b.shape.length === 1 ? [] : [bs[bs.length - 1]!])];
    return [{ dtype: a.dtype, shape }];
  },
  Gemm: (n, [a, b]) => {
    if (!a?.shape || !b?.shape || a.shape.length !== 2 || b.shape.length !== 2) return [{ dtype: a?.dtype }];
    const m = n.int('transA', 0) ? a.shape[1]! : a.shape[0]!, k = n.int('transB', 0) ? b.shape[0]! : b.shape[1]!;
    return [{ dtype: a.dtype, shape: [m, k] }];
  },
  Einsum: (n, ins) => {
    const eq = n.str('equation', '').replace(/\s/g, '');
    const [lhs, rhs] = eq.split('->');
    if (!lhs || rhs === undefined || eq.includes('...')) return [{ dtype: ins[0]?.dtype }];
    const letters = new Map<string, Dim>();
    lhs.split(',').forEach((term, k) => { const s = ins[k]?.shape; if (s && s.length === term.length) [...term].forEach((c, i) => letters.set(c, s[i]!)); });
    const shape = [...rhs].map((c) => letters.get(c));
    return [{ dtype: ins[0]?.dtype, shape: shape.every((d) => d !== undefined) ? (shape as Dim[]) : undefined }];
  },
  Reshape: (n, [x, s]) => {
    if (!s?.value) return [{ dtype: x?.dtype, shape: s?.shape && typeof s.shape[0] === 'number' ? Array.from({ length: s.shape[0] }, () => freshDim('rs')) : undefined }];
    const shape = reshapeShape(x?.shape, s.value, n.int('allowzero', 0) === 1);
    const same = shape && x?.value && staticCount(shape) === x.value.length;
    return [{ dtype: x?.dtype, shape, value: same ? x!.value : undefined }];
  },
  Flatten: (n, [x]) => {
    if (!x?.shape) return [{ dtype: x?.dtype }];
    const a = normAxis(n.int('axis', 1), x.shape.length);
    return [{ dtype: x.dtype, shape: [dimProduct(x.shape.slice(0, a)), dimProduct(x.shape.slice(a))] }];
  },
  Transpose: (n, [x]) => {
    if (!x?.shape) return [{ dtype: x?.dtype }];
    const perm = n.ints('perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
    const shape = perm.map((p) => x.shape![p]!);
    const value = remap(x.value, x.shape, shape, (idx) => { const src = new Array(idx.length); perm.forEach((p, k) => { src[p] = idx[k]; }); return src; });
    return [{ dtype: x.dtype, shape, value }];
  },
  Unsqueeze: (n, [x, a]) => {
    const axes = n.ints('axes') ?? (a?.value?.every((v) => typeof v === 'number') ? (a.value as number[]) : undefined);
    if (!x?.shape || !axes) return [{ dtype: x?.dtype }];
    const r = x.shape.length + axes.length;
    const set = new Set(axes.map((v) => normAxis(v, r)));
    const shape: Dim[] = [];
    let j = 0;
    for (let k = 0; k < r; k++) shape.push(set.has(k) ? 1 : x.shape[j++]!);
    return [{ dtype: x.dtype, shape, value: x.value }];
  },
  Squeeze: (n, [x, a]) => {
    if (!x?.shape) return [{ dtype: x?.dtype }];
    const axes = n.ints('axes') ?? (a?.value?.every((v) => typeof v === 'number') ? (a.value as number[]) : undefined);
    const r = x.shape.length;
    const set = axes ? new Set(axes.map((v) => normAxis(v, r))) : new Set(x.shape.flatMap((d, k) => (d === 1 ? [k] : [])));
    if (!axes && x.shape.some((d) => typeof d !== 'number')) return [{ dtype: x.dtype }];
    return [{ dtype: x.dtype, shape: x.shape.filter((_, k) => !set.has(k)), value: x.value }];
  },
  Concat: (n, ins) => {
    const shapes = ins.map((i) => i?.shape);
    const dtype = ins.find((i) => i?.dtype)?.dtype;
    if (shapes.some((s) => !s)) return [{ dtype }];
    const r = shapes[0]!.length;
    const ax = normAxis(n.int('axis', 0), r);
    const shape = [...shapes[0]!];
    let total: Dim = 0;
    for (const s of shapes) {
      const d = s![ax]!;
      total = typeof total === 'number' && typeof d === 'number' ? total + d : freshDim('cat');
    }
    shape[ax] = total;
    const value = r === 1 && ins.every((i) => i?.value) ? ins.flatMap((i) => i!.value!) : undefined;
    return [{ dtype, shape, value }];
  },
  Gather: (n, [x, idx]) => {
    if (!x?.shape || !idx?.shape) return [{ dtype: x?.dtype }];
    const ax = normAxis(n.int('axis', 0), x.shape.length);
    const shape = [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)];
    let value: Dim[] | undefined;
    if (x.shape.length === 1 && x.value && idx.value && idx.value.every((v) => typeof v === 'number')) {
      const len = x.value.length;
      const picked = (idx.value as number[]).map((i) => x.value![i < 0 ? i + len : i]);
      if (picked.every((v) => v !== undefined)) value = picked as Dim[];
    }
    return [{ dtype: x.dtype, shape, value }];
  },
  ReduceMean: (n, ins, g) => reduce(n, ins, g), ReduceSum: (n, ins, g) => reduce(n, ins, g), ReduceMax: (n, ins, g) => reduce(n, ins, g),
  ReduceMin: (n, ins, g) => reduce(n, ins, g), ReduceProd: (n, ins, g) => reduce(n, ins, g), ReduceL2: (n, ins, g) => reduce(n, ins, g),
  Conv: (n, [x, w]) => {
    if (!x?.shape || !w?.shape || n.str('auto_pad', 'NOTSET') !== 'NOTSET') return [{ dtype: x?.dtype }];
    const sp = x.shape.length - 2;
    const k = n.ints('kernel_shape') ?? (w.shape.slice(2) as number[]);
    const strides = n.ints('strides') ?? new Array(sp).fill(1), dil = n.ints('dilations') ?? new Array(sp).fill(1);
    const pads = n.ints('pads') ?? new Array(2 * sp).fill(0);
    const spatial = x.shape.slice(2).map((d, i) => (typeof d === 'number' && typeof k[i] === 'number'
      ? Math.floor((d + pads[i]! + pads[i + sp]! - dil[i]! * (k[i]! - 1) - 1) / strides[i]!) + 1 : freshDim('conv')));
    return [{ dtype: x.dtype, shape: [x.shape[0]!, w.shape[0]!, ...spatial] }];
  },
  Pad: (n, [x, pads, , axesIn], g) => {
    const nums = (f: ValueFacts | undefined) => (f?.value?.every((d) => typeof d === 'number') ? (f.value as number[]) : undefined);
    let p = g.opset < 11 ? n.ints('pads') : nums(pads);
    if (!x?.shape || !p) return [{ dtype: x?.dtype }];
    const r = x.shape.length;
    const axes = n.input(3) ? nums(axesIn) : undefined;
    if (n.input(3) && !axes) return [{ dtype: x.dtype }];
    if (axes) {
      // Pads given for the listed axes only: spread them over all axes.
      const full = new Array(2 * r).fill(0);
      axes.forEach((a, i) => { const k = normAxis(a, r); full[k] = p![i]; full[k + r] = p![i + axes.length]; });
      p = full;
    }
    if (p.length !== 2 * r) return [{ dtype: x.dtype }];
    const q = p;
    return [{ dtype: x.dtype, shape: x.shape.map((d, k) => (q[k] === 0 && q[k + r] === 0 ? d : typeof d === 'number' ? d + q[k]! + q[k + r]! : freshDim('pad'))) }];
  },
  Resize: (n, ins) => {
    const x = ins[0];
    const sizes = ins[3]?.value;
    if (sizes && x?.shape && sizes.length === x.shape.length && !n.attr('axes')) return [{ dtype: x.dtype, shape: sizes }];
    const scales = ins[2]?.value;
    if (scales && x?.shape && scales.every((v) => v === 1) && scales.length === x.shape.length) return [{ dtype: x.dtype, shape: x.shape }];
    return [{ dtype: x?.dtype }];
  },
  ScatterND: (_n, [x]) => [{ dtype: x?.dtype, shape: x?.shape }],
  ScatterElements: (_n, [x]) => [{ dtype: x?.dtype, shape: x?.shape }],
  GatherND: (n, [x, idx]) => {
    const b = n.int('batch_dims', 0);
    const k = idx?.shape?.[idx.shape.length - 1];
    if (!x?.shape || !idx?.shape || typeof k !== 'number') return [{ dtype: x?.dtype }];
    return [{ dtype: x.dtype, shape: [...idx.shape.slice(0, -1), ...x.shape.slice(b + k)] }];
  },
  GatherElements: (_n, [x, idx]) => [{ dtype: x?.dtype, shape: idx?.shape }],
  Slice: (n, ins, g) => {
    const [x] = ins;
    if (!x?.shape) return [{ dtype: x?.dtype }];
    const num = (k: number): number[] | undefined => {
      if (g.opset < 10) return k === 1 ? n.ints('starts') : k === 2 ? n.ints('ends') : k === 3 ? n.ints('axes') : undefined;
      const v = ins[k]?.value;
      return v && v.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
    };
    const starts = num(1), ends = num(2);
    if (!starts || !ends) {
      // Exporters slice buffers (position ids, causal tables) to a run-time length: x[0:L] along one
      // axis with L symbolic has L elements (a longer L would overrun the buffer the model was built for).
      const endV = ins[2]?.value, axesV = num(3) ?? [0];
      const stepsV = num(4) ?? [1];
      if (starts && endV?.length === 1 && typeof endV[0] === 'string' && starts[0] === 0 && stepsV[0] === 1 && axesV.length === 1) {
        const shape = [...x.shape];
        shape[normAxis(axesV[0]!, shape.length)] = endV[0];
        return [{ dtype: x.dtype, shape }];
      }
      // x[n - L :] along an axis of static size n (ALiBi tables cut to the sequence): L elements.
      const startV = ins[1]?.value;
      const tail = startV?.length === 1 && typeof startV[0] === 'string' ? /^\((\d+)-(.+)\)$/.exec(startV[0]) : null;
      if (tail && ends && ends[0]! >= 2 ** 31 - 1 && stepsV[0] === 1 && axesV.length === 1) {
        const a = normAxis(axesV[0]!, x.shape.length);
        if (x.shape[a] === Number(tail[1])) {
          const shape = [...x.shape];
          shape[a] = tail[2]!;
          return [{ dtype: x.dtype, shape }];
        }
      }
      return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim('sl')) }];
    }
    const axes = num(3) ?? starts.map((_, i) => i), steps = num(4) ?? starts.map(() => 1);
    const shape = [...x.shape];
    const startOf: number[] = x.shape.map(() => 0), stepOf: number[] = x.shape.map(() => 1);
    let value: Dim[] | undefined = x.value;
    axes.forEach((a0, i) => {
      const a = normAxis(a0, x.shape!.length);
      const d = x.shape![a]!;
      const st = starts[i]!, en = ends[i]!, step = steps[i]!;
      if (typeof d !== 'number') {
        // Symbolic: only the whole-axis slice keeps a known dim.
        shape[a] = step === 1 && st === 0 && en >= BIG / 2 ** 20 ? d : freshDim('sl');
        value = undefined;
        return;
      }
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
      const s = step > 0 ? clamp(st < 0 ? st + d : st, 0, d) : clamp(st < 0 ? st + d : st, -1, d - 1);
      const e = step > 0 ? clamp(en < 0 ? en + d : en, 0, d) : clamp(en < 0 ? en + d : en, -1, d - 1);
      const len = Math.max(0, Math.ceil((e - s) / step));
      shape[a] = len;
      startOf[a] = s;
      stepOf[a] = step;
    });
    value = remap(value, x.shape, shape, (idx) => idx.map((k, a) => startOf[a]! + k * stepOf[a]!));
    return [{ dtype: x.dtype, shape, value }];
  },
  Expand: (_n, [x, s]) => {
    if (!s?.value) return [{ dtype: x?.dtype }];
    return [{ dtype: x?.dtype, shape: broadcastShapes([x?.shape, s.value]) }];
  },
  Tile: (_n, [x, r]) => {
    if (!x?.shape || !r?.value) return [{ dtype: x?.dtype }];
    return [{ dtype: x.dtype, shape: x.shape.map((d, k) => dimMul(d, r.value![k]!)) }];
  },
  ConstantOfShape: (n, [s]) => {
    const a = n.attr('value');
    const dtype = a?.t?.dataType ?? DT.FLOAT;
    if (!s?.value) return [{ dtype, shape: s?.shape && typeof s.shape[0] === 'number' ? Array.from({ length: s.shape[0] }, () => freshDim('cos')) : undefined }];
    const count = staticCount(s.value);
    let value: Dim[] | undefined;
    if (count !== undefined && count <= MAX_TRACKED && dtype !== DT.FLOAT && dtype !== DT.FLOAT16) {
      const fill = a?.t ? readTensor(a.t)?.data[0] : 0;
      if (fill !== undefined) value = new Array(count).fill(fill);
    }
    return [{ dtype, shape: s.value, value }];
  },
  Range: (_n, [s, l, d]) => {
    const [a, b, c] = [s?.value?.[0], l?.value?.[0], d?.value?.[0]];
    if (typeof a === 'number' && typeof b === 'number' && typeof c === 'number' && c !== 0) {
      const n = Math.max(0, Math.ceil((b - a) / c));
      return [{ dtype: s?.dtype, shape: [n], value: n <= MAX_TRACKED ? Array.from({ length: n }, (_, i) => a + i * c) : undefined }];
    }
    // range(0, L, 1) has L elements, symbolic or not.
    if (a === 0 && c === 1 && b !== undefined) return [{ dtype: s?.dtype, shape: [b] }];
    return [{ dtype: s?.dtype, shape: [freshDim('range')] }];
  },
  Split: (n, ins, g) => {
    const [x] = ins;
    const outs = n.outputs.length;
    if (!x?.shape) return Array.from({ length: outs }, () => ({ dtype: x?.dtype }));
    const ax = normAxis(n.int('axis', 0), x.shape.length);
    let sizes: Dim[] | undefined = g.opset >= 13 ? ins[1]?.value : n.ints('split');
    if (!sizes) { const each = dimDiv(x.shape[ax]!, outs); sizes = each !== undefined ? new Array(outs).fill(each) : undefined; }
    return Array.from({ length: outs }, (_, k) => {
      const shape = [...x.shape!];
      shape[ax] = sizes?.[k] ?? freshDim('split');
      return { dtype: x.dtype, shape };
    });
  },
  Where: (_n, [c, a, b]) => {
    const shape = broadcastShapes([c?.shape, a?.shape, b?.shape]);
    let value: Dim[] | undefined;
    if (shape && c?.value && a?.value && b?.value) {
      const n = staticCount(shape);
      if (n !== undefined && n <= MAX_TRACKED) {
        const pick = (v: Dim[], i: number) => (v.length === 1 ? v[0] : v.length === n ? v[i] : undefined);
        const out: Dim[] = [];
        for (let i = 0; i < n; i++) {
          const cv = pick(c.value, i), av = pick(a.value, i), bv = pick(b.value, i);
          if (typeof cv !== 'number' || av === undefined || bv === undefined) { value = undefined; break; }
          out.push(cv ? av : bv);
        }
        if (out.length === n) value = out;
      }
    }
    return [{ dtype: a?.dtype ?? b?.dtype, shape, value }];
  },
  Not: (_n, [x]) => [{ dtype: DT.BOOL, shape: x?.shape, value: x?.value?.every((v) => typeof v === 'number') ? x.value.map((v) => (v ? 0 : 1)) : undefined }],
  IsNaN: (_n, [x]) => [{ dtype: DT.BOOL, shape: x?.shape }],
  IsInf: (_n, [x]) => [{ dtype: DT.BOOL, shape: x?.shape }],
  MultiHeadAttention: (n, [q, , v]) => {
    if (n.domain !== 'com.microsoft') return undefined;
    const heads = n.int('num_heads', 0);
    const vs = v?.shape;
    const hidden = vs?.length === 3 ? vs[2] : vs?.length === 4 ? dimMul(vs[1]!, vs[3]!) : undefined;
    return [{ dtype: q?.dtype, shape: q?.shape?.length === 3 && hidden !== undefined && heads ? [q.shape[0]!, q.shape[1]!, hidden] : undefined }];
  },
  GroupQueryAttention: (n, [q, k]) => {
    if (n.domain !== 'com.microsoft') return undefined;
    // Output [B, S, Hq·D]; with packed QKV (no key input) the query's last dim is (Hq + 2·Hk)·D.
    const hq = n.int('num_heads', 0), hk = n.int('kv_num_heads', 0);
    const qs = q?.shape;
    if (qs?.length !== 3 || !hq) return [{ dtype: q?.dtype }];
    const hidden = k ? qs[2]! : hk ? dimDiv(dimMul(qs[2]!, hq), hq + 2 * hk) : undefined;
    return [{ dtype: q?.dtype, shape: hidden !== undefined ? [qs[0]!, qs[1]!, hidden] : undefined }];
  },
  Attention: (n, [q, w, v]) => {
    if (n.domain === 'com.microsoft') {
      // Input [B, S, hidden] projected by weights [hidden, q + k + v]: output [B, S, v hidden].
      const sizes = n.attr('qkv_hidden_sizes')?.ints.map(Number);
      const ws = w?.shape;
      const vHidden = sizes?.length === 3 ? sizes[2] : typeof ws?.[1] === 'number' && ws[1] % 3 === 0 ? ws[1] / 3 : undefined;
      return [{ dtype: q?.dtype, shape: q?.shape?.length === 3 && vHidden !== undefined ? [q.shape[0]!, q.shape[1]!, vHidden] : undefined }];
    }
    if (n.domain !== '') return undefined;
    const out: ValueFacts = { dtype: q?.dtype };
    if (q?.shape?.length === 4 && v?.shape?.length === 4) out.shape = [q.shape[0]!, q.shape[1]!, q.shape[2]!, v.shape[3]!];
    else if (q?.shape?.length === 3 && v?.shape?.length === 3) {
      const hq = n.int('q_num_heads', 0), hk = n.int('kv_num_heads', 0);
      const dv = hk ? dimDiv(v.shape[2]!, hk) : undefined;
      if (hq && dv !== undefined) out.shape = [q.shape[0]!, q.shape[1]!, dimMul(hq, dv)];
    }
    return [out];
  },
};
