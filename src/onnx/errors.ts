/** Every problem a model file can have, as a stable code the CLI and tests can rely on. */
export type OnnxErrorCode =
  | 'not-found'
  | 'not-onnx'
  | 'truncated'
  | 'too-large'
  | 'unsupported-ir'
  | 'unsupported-opset'
  | 'cyclic-graph'
  | 'undefined-input'
  | 'duplicate-name'
  | 'missing-external-file'
  | 'external-out-of-range'
  | 'write-failed';

/** An error about a model, whose message names the problem (and the file, when there is one). */
export class OnnxError extends Error {
  constructor(
    readonly code: OnnxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OnnxError';
  }
}
