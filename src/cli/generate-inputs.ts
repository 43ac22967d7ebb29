import { InputError } from './io.js';
import type { GraphProto, ModelProto, ValueInfoProto } from 'onnx-buf';
import { ONNX_TO_HOST, convertTo, toFloat64, type HostTensor, type HostType } from './tensors.js';

/** A graph input as verify sees it: its name, element type and dims (numbers, or symbolic names). */
export interface InputSpec {
  name: string;
  type: HostType;
  dims: Array<number | string>;
}

export interface GenerateOptions {
  batch: number;
  seq: number;
  seed: number;
}

/** What an input means, from its name: it decides how its values are drawn. */
export type InputRole = 'token-ids' | 'attention-mask' | 'positions' | 'token-types' | 'float' | 'other-int' | 'other-bool';

export function graphInputs(model: ModelProto): InputSpec[] {
  const g = model.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  return g.input.filter((v) => !inits.has(v.name)).map((v) => inputSpec(v));
}

function inputSpec(v: ValueInfoProto): InputSpec {
  const t = v.type?.value;
  if (t?.case !== 'tensorType') throw new InputError(`input '${v.name}' is not a tensor; give it with --input`);
  const type = ONNX_TO_HOST[t.value.elemType];
  if (!type) throw new InputError(`input '${v.name}' has an element type verify cannot generate (${t.value.elemType}); give it with --input`);
  const dims = (t.value.shape?.dim ?? []).map((d) =>
    d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?');
  return { name: v.name, type, dims };
}

export function roleOf(spec: InputSpec): InputRole {
  const n = spec.name.toLowerCase();
  const isInt = spec.type.startsWith('int') || spec.type.startsWith('uint');
  if (n.includes('mask')) return 'attention-mask';
  if (spec.type === 'bool') return 'other-bool';
  if (!isInt) return 'float';
  if (n.includes('position') || n.includes('cache_position')) return 'positions';
  if (n.includes('token_type') || n.includes('segment')) return 'token-types';
  if (n.includes('ids') || n.includes('token') || n.includes('input')) return 'token-ids';
  return 'other-int';
}

/**
 * The vocabulary size behind a token-id input: rows of the embedding table a Gather reads with it
 * (following Casts, Reshapes and the like between the input and the Gather).
 */
export function vocabSize(graph: GraphProto, input: string): number | undefined {
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const consumers = new Map<string, typeof graph.node>();
  for (const n of graph.node) for (const i of n.input) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const passThrough = new Set(['Cast', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Identity', 'View']);
  const seen = new Set<string>();
  const queue = [input];
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const n of consumers.get(name) ?? []) {
      if (n.opType === 'Gather' && n.input[1] === name) {
        const table = inits.get(n.input[0]!);
        if (table && table.dims.length === 2) return Number(table.dims[0]);
      } else if (passThrough.has(n.opType) && n.input[0] === name) {
        queue.push(n.output[0]!);
      }
    }
  }
  return undefined;
}

/** Small, seeded generator (mulberry32): the same inputs on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Symbolic image sides and raw-audio lengths get sizes models accept (a 16-sample waveform is
// shorter than a speech model's first convolution; a 16-pixel image than a ViT's patch grid).
const IMAGE_SIDE = 224;
const AUDIO_SAMPLES = 16000; // one second at 16 kHz
const isAudio = (name: string) => /input_values|audio|waveform/i.test(name);

/**
 * Resolves symbolic dims: batch-like names and leading dims take --batch, the rest --seq; a cache
 * length (a name with "past") takes --seq too, a total length ("total", or a sum such as
 * "past_sequence_length + sequence_length") the sum, so masks cover cache and new tokens; image
 * heights and widths 224, raw audio (input_values, audio, waveform) 16000 samples.
 */
export function concreteDims(spec: InputSpec, opts: GenerateOptions, known: Map<string, number>, hasPast = false): number[] {
  const audio = isAudio(spec.name);
  const simple = (name: string, axis: number): number => {
    if (known.has(name)) return known.get(name)!;
    const lower = name.toLowerCase();
    const v = lower.includes('batch') || (axis === 0 && !/seq|len|past|total|height|width/.test(lower))
      ? opts.batch
      : /height|width/.test(lower) ? IMAGE_SIDE
        : audio ? AUDIO_SAMPLES
          : lower.includes('total') && hasPast ? 2 * opts.seq : opts.seq;
    if (name && name !== '?') known.set(name, v);
    return v;
  };
  return spec.dims.map((d, axis) => {
    if (typeof d === 'number' && d > 0) return d;
    const name = typeof d === 'string' ? d.trim() : '';
    if (/[-+*]/.test(name)) {
      // A dim expression from an exporter: terms are dim names or integers.
      const value = evaluateDim(name, (term) => (/^\d+$/.test(term) ? Number(term) : simple(term, 1)));
      if (value !== undefined && value > 0) return value;
    }
    return simple(name, axis);
  });
}

function evaluateDim(expr: string, term: (t: string) => number): number | undefined {
  const tokens = expr.split(/\s*([-+*])\s*/).filter((t) => t !== '');
  let total = 0;
  let sign = 1;
  let product: number | undefined;
  for (const tok of tokens) {
    if (tok === '+' || tok === '-') {
      total += sign * (product ?? 0);
      sign = tok === '+' ? 1 : -1;
      product = undefined;
    } else if (tok !== '*') {
      const v = term(tok);
      if (!Number.isFinite(v)) return undefined;
      product = product === undefined ? v : product * v;
    }
  }
  return total + sign * (product ?? 0);
}

/**
 * Inputs that respect each input's meaning: token ids inside the vocabulary, attention masks with
 * trailing padding on every other batch item (never an all-zero row), positions in range, token
 * types 0/1, float features random normal.
 */
export function generateInputs(model: ModelProto, opts: GenerateOptions, given: Map<string, HostTensor>): {
  inputs: Map<string, HostTensor>;
  notes: string[];
} {
  const random = rng(opts.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const known = new Map<string, number>();
  const inputs = new Map<string, HostTensor>();
  const notes: string[] = [];
  const specs = graphInputs(model);
  const hasPast = specs.some((s) => s.dims.some((d) => typeof d === 'string' && d.toLowerCase().includes('past')));
  for (const spec of specs) {
    const user = given.get(spec.name);
    if (user) {
      inputs.set(spec.name, user.type === spec.type ? user : convertTo(spec.type, user.dims, user.type === 'float16' ? toFloat64(user) : user.data));
      continue;
    }
    const dims = concreteDims(spec, opts, known, hasPast);
    const count = dims.reduce((a, b) => a * b, 1);
    const last = dims[dims.length - 1] ?? 1;
    const role = roleOf(spec);
    let values: number[];
    switch (role) {
      case 'token-ids': {
        const vocab = vocabSize(model.graph!, spec.name);
        if (vocab === undefined) notes.push(`${spec.name}: no embedding table found, token ids drawn from 0..99`);
        const hi = vocab ?? 100;
        values = Array.from({ length: count }, () => Math.floor(random() * hi));
        break;
      }
      case 'attention-mask': {
        // Rows are the last axis; odd rows get a quarter of trailing padding, never all of it.
        const pad = Math.min(Math.floor(last / 4), last - 1);
        values = Array.from({ length: count }, (_, i) => {
          const row = Math.floor(i / last);
          return row % 2 === 1 && i % last >= last - pad ? 0 : 1;
        });
        break;
      }
      case 'positions':
        values = Array.from({ length: count }, (_, i) => i % last);
        break;
      case 'token-types':
        values = Array.from({ length: count }, (_, i) => (i % last >= last / 2 ? 1 : 0));
        break;
      case 'float':
        values = Array.from({ length: count }, normal);
        break;
      case 'other-bool':
        values = Array.from({ length: count }, () => 1);
        break;
      case 'other-int':
        values = Array.from({ length: count }, () => 0);
        notes.push(`${spec.name}: meaning unknown, filled with zeros (give it with --input)`);
        break;
    }
    inputs.set(spec.name, convertTo(spec.type, dims, values));
  }
  for (const name of given.keys()) {
    if (!inputs.has(name)) throw new InputError(`--input ${name}: the model has no input of that name`);
  }
  return { inputs, notes };
}

