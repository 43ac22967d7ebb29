// Lossless ONNX I/O: decode/encode, validation, external data, atomic writes.
export { OnnxError, type OnnxErrorCode } from './errors.js';
export { decodeModel, encodeModel, formatBytes, PROTOBUF_LIMIT } from './codec.js';
export { validateModel, MAX_IR_VERSION, MAX_OPSET, type ValidateOptions } from './validate.js';
export {
  checkExternalData, externalRef, externalTensors, externalPath, isExternal, readExternalBytes,
  type ExternalRef, type ExternalSite,
} from './external-data.js';
export { readModelFile, writeModelFile, type LoadedModel, type WriteOptions } from './model-file.js';
export { bitsPerElement, dataTypeName, rawByteLength } from './dtype.js';
export { tensorValues, type TensorValues } from './tensor-values.js';
export { allTensors, subgraphsOf } from './walk.js';
