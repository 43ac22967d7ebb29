import { OnnxError } from './errors.js';

// ModelProto's top-level fields and their protobuf wire types (0 varint, 2 length-delimited).
const MODEL_FIELDS = new Map<number, number>([
  [1, 0], [2, 2], [3, 2], [4, 2], [5, 0], [6, 2], [7, 2], [8, 2], [14, 2], [20, 2], [25, 2], [26, 2],
]);

/**
 * Walks the top-level protobuf fields without decoding them, to tell "this is not an ONNX model"
 * from "this is an ONNX model cut short": a generic protobuf error says neither.
 * `what` names the file in messages.
 */
export function checkModelWireFormat(bytes: Uint8Array, what: string): void {
  if (bytes.length === 0) throw new OnnxError('not-onnx', `${what} is empty, not an ONNX model`);
  let pos = 0;
  let fields = 0;
  const readVarint = (): bigint | undefined => {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= bytes.length) return undefined;
      const b = bytes[pos++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new OnnxError('not-onnx', `${what} is not an ONNX model (malformed protobuf at byte ${pos})`);
  };
  const truncated = (): OnnxError =>
    new OnnxError(
      'truncated',
      `${what} is truncated: it ends at byte ${bytes.length} inside a field that needs more bytes`,
    );
  while (pos < bytes.length) {
    const start = pos;
    const tag = readVarint();
    if (tag === undefined) throw truncated();
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    const expected = MODEL_FIELDS.get(field);
    if (expected !== undefined && expected !== wireType) {
      throw new OnnxError('not-onnx', `${what} is not an ONNX model (field ${field} has the wrong type at byte ${start})`);
    }
    if (expected === undefined && fields === 0) {
      throw new OnnxError('not-onnx', `${what} is not an ONNX model (it does not start with a ModelProto field)`);
    }
    if (wireType === 0) {
      if (readVarint() === undefined) throw truncated();
    } else if (wireType === 2) {
      const len = readVarint();
      if (len === undefined) throw truncated();
      if (BigInt(pos) + len > BigInt(bytes.length)) throw truncated();
      pos += Number(len);
    } else if (wireType === 1 || wireType === 5) {
      pos += wireType === 1 ? 8 : 4;
      if (pos > bytes.length) throw truncated();
    } else {
      throw new OnnxError('not-onnx', `${what} is not an ONNX model (malformed protobuf at byte ${start})`);
    }
    fields++;
  }
}
