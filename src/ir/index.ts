// The graph IR: a mutable view over an ONNX graph, constants, shape/type/value inference.
export { Graph, Node, makeAttribute, makeInt32TensorAttribute, type AttrValue } from './graph.js';
export { Facts, inferFacts, knownConstant, broadcastShapes, reshapeShape, type ValueFacts } from './infer.js';
export { dimDiv, dimEq, dimMul, dimProduct, freshDim, isStatic, shapeStr, symDim, type Dim } from './dims.js';
export { readTensor, readConstantAttribute, uniformValue, halfToFloat, lowestFinite, FLOAT_TYPES, DT, type ConstValue } from './constants.js';
