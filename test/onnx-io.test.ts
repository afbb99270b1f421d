import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { AttrType, DataType, encodeModel, Graph, loadModel, newModel, saveModel, Tensor } from '../src/index.js';
import { modelWithInput, randomWeight } from './helpers/build.js';
import { expectCode } from './helpers/errors.js';
import { pythonOnnxMissing, requireDebianPath, runOracle } from './helpers/python.js';

const { onnx } = onnxProto;
const CORPUS = '/usr/share/libonnx-testdata';
const corpusMissing = requireDebianPath(CORPUS, 'libonnx-testdata', existsSync(CORPUS));
const tmp = () => mkdtempSync(join(tmpdir(), 'ftm-io-'));


describe.skipIf(corpusMissing || pythonOnnxMissing)('round-trip on the ONNX backend test corpus', () => {
  it('every model loads and saves back equal to the original (onnx.load(a) == onnx.load(b))', () => {
    const files = execSync(`find ${CORPUS} -name '*.onnx'`, { encoding: 'utf8' }).trim().split('\n').sort();
    expect(files.length).toBe(1072);
    const dir = tmp();
    const pairs = files.map((f, i) => {
      const copy = join(dir, `${i}.onnx`);
      saveModel(loadModel(f), copy);
      return `${f}\t${copy}`;
    });
    const differ = runOracle('equal.py', [], pairs.join('\n')) as string[];
    expect(differ).toEqual([]);
  }, 120_000);
});

describe.skipIf(pythonOnnxMissing)('external data', () => {
  const dir = tmp();
  runOracle('make_external.py', [dir]);

  it('loads tensors from the external file, exactly', () => {
    const ext = loadModel(join(dir, 'external.onnx'));
    const inline = loadModel(join(dir, 'inline.onnx'));
    for (const name of ['w', 'b', 'big']) {
      expect(ext.graph.lookup(name)!.initializer!.data).toEqual(inline.graph.lookup(name)!.initializer!.data);
    }
    const big = ext.graph.lookup('big')!.initializer!.data as BigInt64Array;
    expect([big[0], big[1], big[2]]).toEqual([2n ** 62n + 1n, -(2n ** 63n), 2n ** 63n - 1n]);
  });

  it('writes external data that onnx reads back equal, and reads its own output', () => {
    const out = tmp();
    const model = loadModel(join(dir, 'external.onnx'));
    saveModel(model, join(out, 'copy.onnx'), { externalData: { location: 'copy.weights', threshold: 16 } });
    expect(existsSync(join(out, 'copy.weights'))).toBe(true);
    expect(statSync(join(out, 'copy.onnx')).size).toBeLessThan(2000);
    const differ = runOracle('equal.py', [], `${join(dir, 'external.onnx')}\t${join(out, 'copy.onnx')}`);
    expect(differ).toEqual([]);
    const again = loadModel(join(out, 'copy.onnx'));
    expect(again.graph.lookup('w')!.initializer!.data).toEqual(model.graph.lookup('w')!.initializer!.data);
  });

  it('names the missing external file', () => {
    const bytes = readFileSync(join(dir, 'external.onnx'));
    const lonely = join(tmp(), 'lonely.onnx');
    writeFileSync(lonely, bytes);
    expectCode(() => loadModel(lonely), 'E_EXTERNAL_DATA');
    expectCode(() => loadModel(bytes), 'E_EXTERNAL_DATA');
    expect(loadModel(bytes, { baseDir: dir }).graph.initializers.length).toBe(3);
  });
});

describe('tensor encodings', () => {
  it('keeps 64-bit integers exact in typed fields and raw data', () => {
    const extremes = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -1n, 0n];
    const m = newModel();
    for (const storage of ['raw', 'fields'] as const) {
      m.graph.addInitializer(`i64_${storage}`, new Tensor({ dataType: DataType.INT64, dims: [5], data: BigInt64Array.from(extremes), storage }));
      m.graph.addInitializer(`u64_${storage}`, new Tensor({ dataType: DataType.UINT64, dims: [2], data: BigUint64Array.from([2n ** 64n - 1n, 2n ** 63n]), storage }));
    }
    const back = loadModel(encodeModel(m));
    for (const storage of ['raw', 'fields']) {
      expect(Array.from(back.graph.lookup(`i64_${storage}`)!.initializer!.data as BigInt64Array)).toEqual(extremes);
      expect(Array.from(back.graph.lookup(`u64_${storage}`)!.initializer!.data as BigUint64Array)).toEqual([2n ** 64n - 1n, 2n ** 63n]);
    }
  });

  it('keeps float16 as raw 16-bit patterns and every small type through typed fields', () => {
    const m = newModel();
    const cases: [number, ArrayLike<number>][] = [
      [DataType.FLOAT16, Uint16Array.from([0x3c00, 0xfbff, 0x7e00])],
      [DataType.BFLOAT16, Uint16Array.from([0x3f80, 0xff80])],
      [DataType.INT8, Int8Array.from([-128, 127])],
      [DataType.UINT16, Uint16Array.from([65535, 1])],
      [DataType.BOOL, Uint8Array.from([1, 0, 1])],
      [DataType.DOUBLE, Float64Array.from([Math.PI, -1e300])],
      [DataType.UINT32, Uint32Array.from([4294967295])],
    ];
    cases.forEach(([dataType, data], i) => m.graph.addInitializer(`t${i}`, new Tensor({ dataType, dims: [data.length], data: data as never, storage: 'fields' })));
    const back = loadModel(encodeModel(m));
    cases.forEach(([, data], i) => expect(Array.from(back.graph.lookup(`t${i}`)!.initializer!.data as ArrayLike<number>)).toEqual(Array.from(data)));
  });
});

describe('bad input files', () => {
  const dir = tmp();
  const good = encodeModel(newModel());
  const write = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  it.each([
    ['missing file', () => join(dir, 'nope.onnx'), 'E_FILE_NOT_FOUND'],
    ['a directory', () => dir, 'E_FILE_IS_DIRECTORY'],
    ['an empty file', () => write('empty.onnx', new Uint8Array(0)), 'E_FILE_EMPTY'],
    ['random bytes', () => write('random.onnx', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)), 'E_MODEL_NOT_ONNX'],
    ['a model with no graph', () => write('nograph.onnx', noGraph()), 'E_MODEL_NO_GRAPH'],
  ])('%s', (_, path, code) => {
    expectCode(() => loadModel(path()), code);
  });

  it('a truncated model', () => {
    const m = newModel();
    m.graph.addInitializer('w', Tensor.float32([64], new Float32Array(64).fill(1)));
    const bytes = encodeModel(m);
    expectCode(() => loadModel(write('cut.onnx', bytes.subarray(0, bytes.length - 40))), 'E_MODEL_TRUNCATED');
    expect(good.length).toBeGreaterThan(0);
  });

  it('a model cut anywhere before its graph is truncated, not graph-less (inside producer_name included)', () => {
    const head = { irVersion: 8, producerName: 'pytorch', producerVersion: '2.1.0' };
    const before = onnx.ModelProto.encode(head).finish();
    const bytes = onnx.ModelProto.encode({ ...head, graph: { name: 'g' }, opsetImport: [{ version: 13 }] }).finish();
    expect(bytes.subarray(0, before.length)).toEqual(before);
    for (let cut = 1; cut <= before.length; cut++) expectCode(() => loadModel(bytes.subarray(0, cut)), 'E_MODEL_TRUNCATED');
    expect(loadModel(bytes).producerName).toBe('pytorch');
  });

  it.skipIf(corpusMissing)('a protobuf that is not a model (a TensorProto from the corpus)', () => {
    const pb = join(CORPUS, 'data/node/test_abs/test_data_set_0/input_0.pb');
    expectCode(() => loadModel(pb), 'E_MODEL_NOT_ONNX');
  });
});

/** A complete ModelProto without a graph: opset_import, written after the graph, is there. */
function noGraph(): Uint8Array {
  return onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ version: 13 }] }).finish();
}

/** A one-node model whose node has `attribute`, written with the protobuf schema directly (the IR cannot make it). */
function withAttribute(attribute: onnxProto.onnx.IAttributeProto): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ version: 13 }],
    graph: { name: 'g', node: [{ opType: 'Identity', name: 'n1', input: ['x'], output: ['y'], attribute: [attribute] }], input: [{ name: 'x' }], output: [{ name: 'y' }] },
  }).finish();
}

describe('attributes that break ONNX rules: E_MODEL_INVALID naming the node and the attribute', () => {
  it.each([
    ['a GRAPH without its graph', { name: 'then_branch', type: AttrType.GRAPH }, /"then_branch" is declared GRAPH but holds no value/],
    ['a TENSOR without its tensor', { name: 'value', type: AttrType.TENSOR }, /"value" is declared TENSOR but holds no value/],
    ['a SPARSE_TENSOR without its tensor', { name: 'sparse_value', type: AttrType.SPARSE_TENSOR }, /"sparse_value" is declared SPARSE_TENSOR but holds no value/],
    ['a TYPE_PROTO without its type', { name: 'type', type: AttrType.TYPE_PROTO }, /"type" is declared TYPE_PROTO but holds no value/],
    ['GRAPHS holding a single graph', { name: 'body', type: AttrType.GRAPHS, g: { name: 'sub' } }, /"body" is declared GRAPHS but holds a value of kind GRAPH/],
    ['TENSORS holding an int', { name: 'values', type: AttrType.TENSORS, i: 3 }, /"values" is declared TENSORS but holds a value of kind INT/],
    ['no type and two values', { name: 'alpha', f: 0.5, i: 2 }, /"alpha" is declared FLOAT but holds a value of kind INT/],
  ])('%s', (_, attribute, message) => {
    const e = expectCode(() => loadModel(withAttribute(attribute)), 'E_MODEL_INVALID');
    expect(e.message).toMatch(message);
    expect(e.message).toContain('<bytes>: node Identity "n1"');
  });

  it('lists may be empty and scalars absent (their defaults), and those load', () => {
    for (const attribute of [{ name: 'a', type: AttrType.GRAPHS }, { name: 'b', type: AttrType.TENSORS }, { name: 'c', type: AttrType.INT }]) {
      expect(loadModel(withAttribute(attribute)).graph.nodes[0].attributes[0].name).toBe(attribute.name);
    }
  });
});

describe('Conv weights that cannot fit their node: E_MODEL_INVALID at load, naming the node', () => {
  /** x [1, 4, 8, 8] → Conv(weight of `dims`) → y. */
  const conv = (dims: number[], attrs: Record<string, number | number[]> = {}, bias?: number[], input: (number | string)[] = [1, 4, 8, 8]) => {
    const { model, g, x } = modelWithInput(input);
    const inputs = [x, randomWeight(g, 'w', dims, 1), ...(bias ? [randomWeight(g, 'b', bias, 2)] : [])];
    g.outputs.push(g.addNode({ op: 'Conv', inputs, name: 'conv', attrs }).outputs[0]!);
    return encodeModel(model);
  };
  it.each([
    ['C_in × group not the input channels', conv([8, 2, 3, 3]), /weight "w" \[8, 2, 3, 3\] takes 2 input channels \(2 per group × group 1\), its input "x" has 4/],
    ['rank below 3', conv([8, 4]), /should have rank 3 or more/],
    ['rank unlike the input', conv([8, 4, 3]), /has rank 3, its input "x" has rank 4/],
    ['C_out not divisible by group', conv([8, 1, 3, 3], { group: 3 }), /has 8 output channels, which group 3 does not divide/],
    ['kernel_shape unlike the weight', conv([8, 4, 3, 3], { kernel_shape: [5, 5] }), /has kernel 3×3, the node's kernel_shape is 5×5/],
    ['a bias of the wrong length', conv([8, 4, 3, 3], {}, [4]), /the bias "b" has shape \[4\]/],
  ])('%s', (_, bytes, message) => {
    const e = expectCode(() => loadModel(bytes), 'E_MODEL_INVALID');
    expect(e.message).toMatch(message);
    expect(e.message).toContain('node Conv "conv"');
  });

  it('grouped and depthwise weights load, and symbolic channels are not guessed', () => {
    expect(loadModel(conv([8, 2, 3, 3], { group: 2 })).graph.nodes).toHaveLength(1);
    expect(loadModel(conv([4, 1, 3, 3], { group: 4 })).graph.nodes).toHaveLength(1);
    expect(loadModel(conv([8, 3, 3, 3], {}, [8], ['N', 'C', 8, 8])).graph.nodes).toHaveLength(1);
  });
});

describe('saving', () => {
  it('refuses to overwrite the input model unless forced, and leaves no temporary files', () => {
    const dir = tmp();
    const path = join(dir, 'm.onnx');
    saveModel(newModel(), path);
    const m = loadModel(path);
    expectCode(() => saveModel(m, path), 'E_OUTPUT_IS_INPUT');
    saveModel(m, path, { force: true });
    expect(readdirSync(dir)).toEqual(['m.onnx']);
  });

  it('reports an unwritable output and writes nothing', () => {
    expectCode(() => saveModel(newModel(), '/nonexistent-dir/x.onnx'), 'E_OUTPUT_UNWRITABLE');
    const dir = tmp();
    expectCode(() => saveModel(newModel(), dir), 'E_OUTPUT_UNWRITABLE');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('round-trips a graph built in memory', () => {
    const g = new Graph();
    const m = newModel(13, g);
    const x = g.define('x');
    x.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 3 }] };
    g.inputs.push(x);
    const relu = g.addNode({ op: 'Relu', inputs: [x], name: 'relu' });
    g.outputs.push(relu.outputs[0]!);
    const back = loadModel(encodeModel(m));
    expect(back.graph.nodes.map((n) => n.opType)).toEqual(['Relu']);
    expect(back.graph.inputs[0].shape).toEqual(['N', 3]);
  });
});
