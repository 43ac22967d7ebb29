import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { OnnxError } from './errors.js';
import { checkModelWireFormat } from './wire-check.js';

/** Protobuf messages cannot exceed 2 GiB - 1 bytes: lengths are signed 32-bit in every reader. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Decodes a ModelProto, keeping unknown fields so that encoding gives the same bytes back. */
export function decodeModel(bytes: Uint8Array, what = 'the input'): ModelProto {
  checkModelWireFormat(bytes, what);
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: true });
  } catch (e) {
    throw new OnnxError('not-onnx', `${what} is not a valid ONNX model: ${(e as Error).message}`);
  }
  if (model.irVersion === 0n) {
    throw new OnnxError('not-onnx', `${what} is not an ONNX model: it declares no IR version`);
  }
  if (!model.graph) {
    throw new OnnxError('truncated', `${what} has no graph (truncated, or not an ONNX model)`);
  }
  return model;
}

/** Encodes a ModelProto; refuses results protobuf readers cannot take back. */
export function encodeModel(model: ModelProto): Uint8Array {
  const bytes = toBinary(ModelProtoSchema, model, { writeUnknownFields: true });
  if (bytes.length > PROTOBUF_LIMIT) {
    throw new OnnxError(
      'too-large',
      `the model would be ${formatBytes(bytes.length)} as one protobuf, over protobuf's 2 GB limit; ` +
        'keep its weights as external data',
    );
  }
  return bytes;
}

export function formatBytes(n: number | bigint): string {
  const v = Number(n);
  if (v >= 2 ** 30) return `${(v / 2 ** 30).toFixed(2)} GiB`;
  if (v >= 2 ** 20) return `${(v / 2 ** 20).toFixed(1)} MiB`;
  if (v >= 2 ** 10) return `${(v / 2 ** 10).toFixed(1)} KiB`;
  return `${v} bytes`;
}
