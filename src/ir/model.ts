import { Graph } from './graph.js';

export interface OpsetImport {
  domain?: string;
  version: number;
}

export interface StringEntry {
  key: string;
  value: string;
}

/**
 * A model: the main graph plus the header fields of ModelProto. Fields left undefined were absent in the file and stay
 * absent when it is written back. Functions and training info are carried through as decoded protobuf messages.
 */
export interface Model {
  irVersion?: number;
  opsetImport: OpsetImport[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number | bigint;
  docString?: string;
  metadataProps: StringEntry[];
  graph: Graph;
  functions: unknown[];
  trainingInfo: unknown[];
  /** Where the model was loaded from (external data is resolved relative to it), when it came from a file. */
  path?: string;
}

/** The version of the default (ai.onnx) opset the model imports, if any. */
export function onnxOpset(model: Model): number | undefined {
  return model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
}

/** A new, empty model importing the default opset at `opset` (IR version 8: what onnx-proto covers). */
export function newModel(opset = 13, graph = new Graph()): Model {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'ftm-compress',
    metadataProps: [],
    graph,
    functions: [],
    trainingInfo: [],
  };
}
