import { Tensor } from 'onnxruntime-common';
import { createSession } from '../loader/index.js';
import { InputError } from './io.js';
import type { HostTensor } from './tensors.js';

export type Provider = 'cpu' | 'cuda';

export interface RunResult {
  outputs: Map<string, { type: string; dims: readonly number[]; data: ArrayLike<number | bigint> }>;
}

/** Runs a model once, with the fa-onnx ops registered, on the given provider; then releases it. */
export async function runModel(path: string, provider: Provider, inputs: Map<string, HostTensor>): Promise<RunResult> {
  try {
    return await runOnce(path, provider, inputs);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${path} does not run on the ${provider} provider: ${(e as Error).message}`);
  }
}

async function runOnce(path: string, provider: Provider, inputs: Map<string, HostTensor>): Promise<RunResult> {
  const session = await createSession(path, { executionProviders: [provider], logSeverityLevel: 3 });
  try {
    const feeds: Record<string, Tensor> = {};
    for (const name of session.inputNames) {
      const t = inputs.get(name);
      if (!t) throw new InputError(`${path} needs input '${name}', which the original model does not have; give it with --input`);
      feeds[name] = new Tensor(t.type, t.data, t.dims);
    }
    const result = await session.run(feeds);
    const outputs: RunResult['outputs'] = new Map();
    for (const name of session.outputNames) {
      const t = result[name]!;
      outputs.set(name, { type: t.type, dims: t.dims, data: t.data as ArrayLike<number | bigint> });
    }
    return { outputs };
  } finally {
    await session.release();
  }
}
