// An onnxruntime-common InferenceSessionHandler over the addon's native session: converts
// onnxruntime-common tensors to the addon's {type, dims, data} and back.
import * as fs from 'node:fs';

import { Tensor } from 'onnxruntime-common';
import type { InferenceSession, InferenceSessionHandler, OnnxValue, SessionHandler } from 'onnxruntime-common';

import { ElementType, elementTypeFor, elementTypeName, tensorTypeFor, viewAs } from './element-types.js';
import { loadNative } from './native.js';
import type { NativeFetch, NativeRunOptions, NativeSession, NativeTensor, NativeValueMetadata } from './native.js';
import { toNativeConfig } from './options.js';
import { buildCommand, opsLibraryPath } from './paths.js';

function describe(values: NativeValueMetadata[]): InferenceSession.ValueMetadata[] {
  return values.map((value): InferenceSession.ValueMetadata => {
    if (!value.isTensor || value.type === undefined) return { name: value.name, isTensor: false };
    // Same shape convention as onnxruntime-node: a dynamic dimension is given by its symbolic name.
    const shape = (value.shape ?? []).map((dim, i) => (dim >= 0 ? dim : (value.symbolicDimensions?.[i] ?? '')));
    // bfloat16 / float8 are named as the model declares them, although onnxruntime-common's type
    // union lacks them (their data travels as uint16 / uint8 bits: see element-types.ts).
    return { name: value.name, isTensor: true, type: elementTypeName(value.type) as Tensor.Type, shape };
  });
}

function toNativeTensor(value: OnnxValue, declared: number | undefined, what: string): NativeTensor {
  const tensor = value as Partial<Tensor> | null;
  if (tensor === null || typeof tensor !== 'object' || typeof tensor.type !== 'string' || !Array.isArray(tensor.dims)) {
    throw new TypeError(`fa-onnx: ${what} is not a Tensor`);
  }
  if (tensor.location !== undefined && tensor.location !== 'cpu') {
    throw new TypeError(`fa-onnx: ${what} is a '${tensor.location}' tensor; fa-onnx sessions take CPU tensors`);
  }
  const type = elementTypeFor(tensor.type, declared);
  if (type === undefined || tensorTypeFor(type) === undefined) {
    throw new TypeError(`fa-onnx: ${what} has tensor type '${tensor.type}', which fa-onnx sessions do not support`);
  }
  return { type, dims: tensor.dims, data: tensor.data as NativeTensor['data'] };
}

function toTensor(output: NativeTensor, name: string): Tensor {
  const type = tensorTypeFor(output.type);
  if (type === undefined) throw new Error(`fa-onnx: output '${name}' has unsupported element type ${elementTypeName(output.type)}`);
  if (type === 'string') return new Tensor('string', output.data as string[], output.dims);
  return new Tensor(type, viewAs(type, output.data as ArrayBuffer) as Float32Array, output.dims);
}

export class FaOnnxSessionHandler implements InferenceSessionHandler {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly #native: NativeSession;
  readonly #inputTypes: Map<string, number | undefined>;
  readonly #outputTypes: Map<string, number | undefined>;

  private constructor(native: NativeSession) {
    this.#native = native;
    const { inputs, outputs } = native.metadata();
    this.inputNames = inputs.map((v) => v.name);
    this.outputNames = outputs.map((v) => v.name);
    this.inputMetadata = describe(inputs);
    this.outputMetadata = describe(outputs);
    this.#inputTypes = new Map(inputs.map((v) => [v.name, v.type]));
    this.#outputTypes = new Map(outputs.map((v) => [v.name, v.type]));
  }

  static async create(model: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<FaOnnxSessionHandler> {
    const { addon } = loadNative();
    if (typeof model === 'string' && !fs.existsSync(model)) {
      throw new Error(`fa-onnx: model file not found: ${model}`);
    }
    if (!fs.existsSync(opsLibraryPath)) {
      throw new Error(`fa-onnx: the ops library is not built (${opsLibraryPath} is missing); build it with \`${buildCommand}\``);
    }
    const native = new addon.Session();
    await native.load(model, toNativeConfig(options, opsLibraryPath));
    return new FaOnnxSessionHandler(native);
  }

  async dispose(): Promise<void> {
    this.#native.release();
  }

  // Profiling starts with the session (options.enableProfiling), as in onnxruntime-node.
  startProfiling(): void {}

  // ORT writes the profile to <profileFilePrefix>_<date>.json.
  endProfiling(): void {
    this.#native.endProfiling();
  }

  async run(
    feeds: SessionHandler.FeedsType,
    fetches: SessionHandler.FetchesType,
    options: InferenceSession.RunOptions,
  ): Promise<SessionHandler.ReturnType> {
    const nativeFeeds = Object.entries(feeds).map(([name, value]) => ({
      ...toNativeTensor(value, this.#inputTypes.get(name), `input '${name}'`),
      name,
    }));
    const names = Object.keys(fetches);
    const nativeFetches = names.map((name): NativeFetch => {
      const value = fetches[name];
      // ORT keeps strings in its own storage, so a pre-allocated string output is filled afterwards.
      if (value == null || (value as Tensor).type === 'string') return { name };
      return { name, preallocated: toNativeTensor(value, this.#outputTypes.get(name), `output '${name}'`) };
    });
    const runOptions: NativeRunOptions = {};
    if (options.logSeverityLevel !== undefined) runOptions.logSeverityLevel = options.logSeverityLevel;
    if (options.tag !== undefined) runOptions.tag = options.tag;

    const outputs = await this.#native.run(nativeFeeds, nativeFetches, runOptions);
    const result: SessionHandler.ReturnType = {};
    names.forEach((name, i) => {
      const output = outputs[i];
      const fetch = fetches[name] as Tensor | null | undefined;
      if (output == null) {
        result[name] = fetch as OnnxValue;
      } else if (fetch != null) {
        const strings = fetch.data as string[];
        if (output.type !== ElementType.string) {
          throw new Error(`fa-onnx: output '${name}' is ${elementTypeName(output.type)}; the pre-allocated tensor is string`);
        }
        const got = output.data as readonly string[];
        if (strings.length !== got.length) {
          throw new Error(`fa-onnx: output '${name}' has ${got.length} elements; the pre-allocated tensor holds ${strings.length}`);
        }
        strings.splice(0, strings.length, ...got);
        result[name] = fetch;
      } else {
        result[name] = toTensor(output, name);
      }
    });
    return result;
  }
}
