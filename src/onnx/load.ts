import { closeSync, openSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import protobuf from 'protobufjs';
import { ftmError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { checkConvWeights } from './conv-weights.js';
import { decodeModel } from './decode.js';
import { fromLong, onnx, type OnnxTypes } from './proto.js';
import { dtypeInfo } from '../ir/dtype.js';
import { openError, readRange, readWholeFile } from './read-file.js';

export interface LoadOptions {
  /** Folder that external data locations are relative to, for a model given as bytes. */
  baseDir?: string;
}

/** Reads an ONNX model from a file (of any size) or from bytes into the IR, resolving external data. */
export function loadModel(source: string | Uint8Array, options: LoadOptions = {}): Model {
  const file = typeof source === 'string' ? source : undefined;
  const where = file ?? '<bytes>';
  const bytes = file ? readWholeFile(file) : source as Uint8Array;
  if (bytes.length === 0) throw ftmError('E_FILE_EMPTY', 'the model is empty (0 bytes)', where);
  const proto = decodeProto(bytes, where);
  const baseDir = options.baseDir ?? (file ? dirname(resolve(file)) : undefined);
  const external = new ExternalFiles(baseDir, where);
  try {
    const model = decodeModel(proto, (t) => external.read(t), where);
    checkConvWeights(model.graph, where);
    if (file) model.path = resolve(file);
    return model;
  } finally {
    external.close();
  }
}

function decodeProto(bytes: Uint8Array, where: string): OnnxTypes.ModelProto {
  let proto: OnnxTypes.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw classifyUndecodable(bytes, where, e as Error);
  }
  const has = (f: string) => Object.prototype.hasOwnProperty.call(proto, f);
  if (!has('graph')) {
    if (!has('irVersion') && proto.opsetImport.length === 0) {
      throw ftmError('E_MODEL_NOT_ONNX', 'expected an ONNX model, found a protobuf message with no ONNX model fields (ir_version, opset_import, graph)', where);
    }
    // Writers put fields in number order, the graph (7) before opset_import (8) and everything after it: a file
    // that stops before any of those stopped where the graph should have begun.
    const after = proto.opsetImport.length + proto.metadataProps.length + proto.trainingInfo.length + proto.functions.length;
    if (after === 0) {
      throw ftmError('E_MODEL_TRUNCATED', `the model file is truncated: it ends (after ${bytes.length} bytes) where the graph should begin, and has no opset_import either`, where);
    }
    throw ftmError('E_MODEL_NO_GRAPH', 'the ONNX model has no graph (fields written after the graph are there, so the file is not cut short)', where);
  }
  return proto;
}

/** ModelProto's field numbers and wire types (0 varint, 2 length-delimited), to tell a cut-off file from a foreign one. */
const MODEL_FIELDS: Record<number, number> = { 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2 };

function classifyUndecodable(bytes: Uint8Array, where: string, cause: Error): Error {
  const reader = protobuf.Reader.create(bytes);
  let fields = 0;
  let inField = false;
  try {
    while (reader.pos < reader.len) {
      inField = false;
      const tag = reader.uint32();
      if (MODEL_FIELDS[tag >>> 3] !== (tag & 7)) {
        return ftmError('E_MODEL_NOT_ONNX', `expected an ONNX model (protobuf ModelProto), found bytes that do not parse as one (field ${tag >>> 3}, wire type ${tag & 7} at byte ${reader.pos})`, where);
      }
      inField = true;
      reader.skipType(tag & 7);
      fields++;
    }
  } catch {
    // Every field so far was a ModelProto field and the bytes ran out inside one.
    if (fields > 0 || inField) {
      return ftmError('E_MODEL_TRUNCATED', `the model file is truncated: it ends inside a field (${bytes.length} bytes read)`, where);
    }
  }
  return ftmError('E_MODEL_NOT_ONNX', `expected an ONNX model, the protobuf does not decode (${cause.message})`, where);
}

/** Opens each external data file once while a model is decoded. */
class ExternalFiles {
  private readonly fds = new Map<string, number>();
  constructor(private readonly baseDir: string | undefined, private readonly where: string) {}

  read(t: OnnxTypes.ITensorProto): Uint8Array {
    const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = entries.get('location');
    const tensor = `tensor "${t.name ?? ''}"`;
    if (!location) throw ftmError('E_EXTERNAL_DATA', `${tensor} is stored externally but names no location`, this.where);
    if (this.baseDir === undefined) {
      throw ftmError('E_EXTERNAL_DATA', `${tensor} is stored in external file "${location}"; load the model by path or pass baseDir`, this.where);
    }
    if (isAbsolute(location) || normalize(location).split(sep).includes('..')) {
      throw ftmError('E_EXTERNAL_DATA', `${tensor}: external data location "${location}" must be a relative path inside the model's folder`, this.where);
    }
    const file = join(this.baseDir, location);
    let fd = this.fds.get(file);
    if (fd === undefined) {
      try {
        fd = openSync(file, 'r');
      } catch (e) {
        throw ftmError('E_EXTERNAL_DATA', `${tensor}: ${openError(e, file).message}`, this.where);
      }
      this.fds.set(file, fd);
    }
    const offset = Number(entries.get('offset') ?? 0);
    const length = entries.has('length') ? Number(entries.get('length')) : expectedBytes(t);
    try {
      return readRange(fd, offset, length, file);
    } catch (e) {
      throw ftmError('E_EXTERNAL_DATA', `${tensor}: ${(e as Error).message}`, this.where);
    }
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
  }
}

function expectedBytes(t: OnnxTypes.ITensorProto): number {
  return (t.dims ?? []).reduce<number>((n, d) => n * Number(fromLong(d as never)), 1) * (dtypeInfo(t.dataType ?? 0)?.bytes ?? 0);
}
