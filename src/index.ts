/** The library's face: everything a user of ftm-compress imports comes from here. */
export { FtmError, ERROR_CODES, ftmError, isFtmError, type ErrorCode } from './errors.js';
export { DataType, dtypeName, type TensorData, type NumericArray } from './ir/dtype.js';
export { Tensor } from './ir/tensor.js';
export { Value, type ValueType, type Dim, type Use } from './ir/value.js';
export { Node, AttrType, type Attribute, type AttrInit } from './ir/node.js';
export { Graph, type NodeSpec } from './ir/graph.js';
export { type Model, type OpsetImport, onnxOpset, newModel } from './ir/model.js';
export { convGeometry, convOutputSize, resolvePads, type ConvGeometry } from './ir/conv.js';
export { loadModel, type LoadOptions } from './onnx/load.js';
export { saveModel, encodeModel, type SaveOptions } from './onnx/save.js';
export { toposort } from './graph/toposort.js';
export { removeDeadNodes } from './graph/cleanup.js';
export { validateGraph, assertValid } from './graph/validate.js';
export { inferShapes, type Shape } from './analysis/shapes.js';
export { countParams } from './analysis/params.js';
export { inspectModel, type InspectReport, type ConvLayer } from './analysis/inspect.js';
export { formatInspect } from './analysis/format-inspect.js';
