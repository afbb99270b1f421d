import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  loadCalibration,
  mulberry32,
  parseSize,
  readPreprocessFile,
  sampleIndices,
  type CalibBatch,
  type CalibOptions,
  type CalibrationSet,
} from '../src/calib/index.js';
import { DataType, FtmError, Graph, loadModel, newModel, type Model } from '../src/index.js';
import { pythonOnnxMissing } from './helpers/python.js';

const FIXTURE = new URL('../fixtures/resnet20/', import.meta.url).pathname;
const tmp = () => mkdtempSync(join(tmpdir(), 'ftm-calib-'));

/** A model whose only input is a tensor of these dims (strings are symbols); the graph is just Identity. */
function modelWithInput(dims: (number | string)[], elemType: number = DataType.FLOAT): Model {
  const g = new Graph();
  const m = newModel(13, g);
  const x = g.define('x');
  x.type = { kind: 'tensor', elemType, shape: dims.map((d) => (typeof d === 'number' ? { value: d } : { param: d })) };
  g.inputs.push(x);
  g.outputs.push(g.addNode({ op: 'Identity', inputs: [x] }).outputs[0]!);
  return m;
}

/** A PNG with these 8-bit pixels, interleaved, 1 (gray), 3 (RGB) or 4 (RGBA) channels. */
function png(width: number, height: number, channels: 1 | 3 | 4, pixels: number[]): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width, height, channels } })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .png()
    .toBuffer();
}

/** Writes files into a new temp folder; returns the folder. */
function folder(files: Record<string, Uint8Array | string>): string {
  const dir = tmp();
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

/** An .npy file written the way numpy writes one (header padded to 64 bytes), with a chosen dtype and order. */
function npy(descr: string, shape: number[], data: ArrayBufferView, options: { fortran?: boolean; version?: 1 | 2 | 3 } = {}): Buffer {
  const version = options.version ?? 1;
  const dict = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const prefix = version === 1 ? 10 : 12;
  const header = dict.padEnd(Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix - 1, ' ') + '\n';
  const head = Buffer.alloc(prefix);
  head.write('\x93NUMPY', 'latin1');
  head[6] = version;
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** An uncompressed little-endian TIFF of `bands` 8-bit gray-interpreted samples per pixel: what sharp cannot write. */
function multibandTiff(width: number, height: number, bands: number): Buffer {
  const data = Buffer.alloc(width * height * bands, 7);
  const bitsAt = 8 + data.length;
  const ifdAt = bitsAt + 2 * bands;
  // [tag, type (3 short, 4 long), count, value]: size, bits per sample, no compression, min-is-black, one strip.
  const tags = [[256, 3, 1, width], [257, 3, 1, height], [258, 3, bands, bitsAt], [259, 3, 1, 1], [262, 3, 1, 1], [273, 4, 1, 8],
    [277, 3, 1, bands], [278, 3, 1, height], [279, 4, 1, data.length], [284, 3, 1, 1]];
  const ifd = Buffer.alloc(2 + 12 * tags.length + 4);
  ifd.writeUInt16LE(tags.length, 0);
  tags.forEach(([tag, type, count, value], i) => {
    ifd.writeUInt16LE(tag, 2 + 12 * i);
    ifd.writeUInt16LE(type, 4 + 12 * i);
    ifd.writeUInt32LE(count, 6 + 12 * i);
    if (type === 3 && count === 1) ifd.writeUInt16LE(value, 10 + 12 * i);
    else ifd.writeUInt32LE(value, 10 + 12 * i);
  });
  const head = Buffer.from([0x49, 0x49, 42, 0, 0, 0, 0, 0]);
  head.writeUInt32LE(ifdAt, 4);
  return Buffer.concat([head, data, Buffer.alloc(2 * bands, 0).fill(Buffer.from([8, 0])), ifd]);
}

const iota = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => from + i);

/** All samples of a set, concatenated, read in batches of `batchSize`. */
async function readAll(set: CalibrationSet, batchSize = 3): Promise<{ data: number[]; sources: string[]; counts: number[] }> {
  const out = { data: [] as number[], sources: [] as string[], counts: [] as number[] };
  for await (const b of set.batches(batchSize)) {
    out.data.push(...b.data);
    out.sources.push(...b.sources);
    out.counts.push(b.count);
  }
  return out;
}

async function expectCode(run: () => Promise<unknown> | unknown, code: string, ...mentions: string[]): Promise<FtmError> {
  try {
    await run();
  } catch (e) {
    expect(e).toBeInstanceOf(FtmError);
    expect((e as FtmError).code).toBe(code);
    for (const m of mentions) expect((e as FtmError).message).toContain(m);
    expect((e as FtmError).message).not.toContain('\n');
    return e as FtmError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** Options that collect warnings (into `warnings`) instead of printing them. */
function quiet(options: CalibOptions = {}): { options: CalibOptions; warnings: string[] } {
  const warnings: string[] = [];
  return { options: { ...options, onWarning: (m) => warnings.push(m) }, warnings };
}

describe('the ResNet-20 fixture', () => {
  const model = loadModel(join(FIXTURE, 'model.onnx'));
  const preprocess = readPreprocessFile(join(FIXTURE, 'preprocess.json'));

  it('reproduces the reported test accuracy exactly: 1000 PNGs through preprocess.json and onnxruntime', async () => {
    const meta = JSON.parse(readFileSync(join(FIXTURE, 'meta.json'), 'utf8'));
    const labels: number[] = JSON.parse(readFileSync(join(FIXTURE, 'test/labels.json'), 'utf8'));
    const { options, warnings } = quiet(preprocess);
    const set = await loadCalibration(join(FIXTURE, 'test'), model, options);
    expect(warnings).toEqual([expect.stringContaining('labels.json')]);
    expect([set.inputName, set.count, set.sampleShape]).toEqual(['input', 1000, [1, 28, 28]]);
    const session = await ort.InferenceSession.create(join(FIXTURE, 'model.onnx'));
    let correct = 0;
    let seen = 0;
    for await (const batch of set.batches(100)) {
      const out = await session.run({ input: new ort.Tensor('float32', batch.data, [batch.count, ...set.sampleShape]) });
      const logits = out.logits.data as Float32Array;
      for (let k = 0; k < batch.count; k++, seen++) {
        const row = logits.subarray(k * 10, k * 10 + 10);
        if (row.indexOf(Math.max(...row)) === labels[seen]) correct++;
      }
    }
    expect(seen).toBe(1000);
    expect(correct).toBe(Math.round(meta.accuracy.test1000 * 1000));
  }, 60_000);

  it('turns each pixel into (v/255 − 0.286)/0.353, checked against PNGs decoded by hand', async () => {
    const set = await loadCalibration(join(FIXTURE, 'calib'), model, preprocess);
    expect(set.count).toBe(256);
    const first = (await set.subset([0, 255]).batches(2).next()).value as CalibBatch;
    expect(first.sources.map((s) => s.slice(-7))).toEqual(['000.png', '255.png']);
    for (const [k, name] of ['000.png', '255.png'].entries()) {
      const expected = decodeFixturePng(join(FIXTURE, 'calib', name)).map((v) => Math.fround((v / 255 - 0.286) / 0.353));
      expect(Array.from(first.data.subarray(k * 784, (k + 1) * 784))).toEqual(expected);
    }
  });
});

/** The fixture's PNGs are 8-bit gray, filter 0 on every row (fixtures/README.md): zlib alone decodes them. */
function decodeFixturePng(file: string): number[] {
  const bytes = readFileSync(file);
  const width = bytes.readUInt32BE(16);
  const idat: Buffer[] = [];
  for (let p = 8; p < bytes.length; p += 12 + bytes.readUInt32BE(p)) {
    if (bytes.toString('latin1', p + 4, p + 8) === 'IDAT') idat.push(bytes.subarray(p + 8, p + 8 + bytes.readUInt32BE(p)));
  }
  const raw = inflateSync(Buffer.concat(idat));
  const pixels: number[] = [];
  for (let row = 0; row < raw.length; row += width + 1) {
    expect(raw[row]).toBe(0);
    pixels.push(...raw.subarray(row + 1, row + 1 + width));
  }
  return pixels;
}

describe('pixel values', () => {
  const exact = { scale: 1, mean: [100], std: [2] };

  it('gray image into a 1-channel input: (v·scale − mean)/std, row-major', async () => {
    const dir = folder({ 'a.png': await png(3, 2, 1, [0, 50, 100, 150, 200, 255]) });
    const set = await loadCalibration(dir, modelWithInput(['N', 1, 2, 3]), exact);
    expect(set.sampleShape).toEqual([1, 2, 3]);
    expect((await readAll(set)).data).toEqual([-50, -25, 0, 25, 50, 77.5]);
  });

  it('the default scale 1/255 maps 0..255 onto 0..1', async () => {
    const dir = folder({ 'a.png': await png(2, 1, 1, [0, 255]) });
    expect((await readAll(await loadCalibration(dir, modelWithInput(['N', 1, 1, 2])))).data).toEqual([0, 1]);
  });

  it('RGB image into a 3-channel input: CHW planes, mean and std per channel', async () => {
    const dir = folder({ 'a.png': await png(2, 1, 3, [10, 20, 30, 40, 60, 80]) });
    const set = await loadCalibration(dir, modelWithInput(['N', 3, 1, 2]), { scale: 1, mean: [10, 20, 30], std: [1, 2, 4] });
    expect((await readAll(set)).data).toEqual([0, 30, 0, 20, 0, 12.5]);
  });

  it('bgr reverses the planes; mean and std are in the model channel order', async () => {
    const dir = folder({ 'a.png': await png(2, 1, 3, [10, 20, 30, 40, 60, 80]) });
    const set = await loadCalibration(dir, modelWithInput(['N', 3, 1, 2]), { scale: 1, mean: [30, 20, 10], std: [4, 2, 1], channelOrder: 'bgr' });
    expect((await readAll(set)).data).toEqual([0, 12.5, 0, 20, 0, 30]);
  });

  it('colour into a gray input uses PIL\'s luma (red → 76, green → 150, blue → 29), not linear-light luminance', async () => {
    const dir = folder({ 'a.png': await png(4, 1, 3, [255, 0, 0, 0, 255, 0, 0, 0, 255, 77, 77, 77]) });
    const set = await loadCalibration(dir, modelWithInput(['N', 1, 1, 4]), { scale: 1 });
    expect((await readAll(set)).data).toEqual([76, 150, 29, 77]);
  });

  it('gray into a 3-channel input repeats the gray value in every channel', async () => {
    const dir = folder({ 'a.png': await png(2, 1, 1, [7, 200]) });
    const set = await loadCalibration(dir, modelWithInput(['N', 3, 1, 2]), { scale: 1 });
    expect((await readAll(set)).data).toEqual([7, 200, 7, 200, 7, 200]);
  });

  it('alpha is dropped before resizing: a transparent pixel keeps its colour', async () => {
    const dir = folder({ 'a.png': await png(1, 1, 4, [200, 100, 50, 0]) });
    const set = await loadCalibration(dir, modelWithInput(['N', 3, 3, 3]), { scale: 1 });
    expect((await readAll(set)).data).toEqual([...Array(9).fill(200), ...Array(9).fill(100), ...Array(9).fill(50)]);
  });

  it('resizes to the model H×W: fill stretches, cover crops the centre, contain pads with black', async () => {
    const dir = folder({ 'a.png': await png(4, 2, 1, [10, 50, 90, 130, 10, 50, 90, 130]), 'b.png': await png(7, 5, 1, Array(35).fill(123)) });
    const read = async (dims: number[], resize: 'fill' | 'cover' | 'contain') =>
      (await readAll(await loadCalibration(dir, modelWithInput(['N', 1, ...dims]), { scale: 1, resize }), 1)).data;
    // Halving [10, 50, 90, 130] keeps all four columns, centred: a symmetric pair around 70, not the cropped [50, 90].
    const [left, right, ...uniform] = await read([1, 2], 'fill');
    expect([left + right, left < 50, uniform]).toEqual([140, true, [123, 123]]);
    expect((await read([3, 4], 'fill')).slice(12)).toEqual(Array(12).fill(123));
    expect(await read([2, 2], 'cover')).toEqual([50, 90, 50, 90, 123, 123, 123, 123]);
    expect((await read([4, 4], 'contain')).slice(0, 16)).toEqual([0, 0, 0, 0, 10, 50, 90, 130, 10, 50, 90, 130, 0, 0, 0, 0]);
  });

  it('--size fills symbolic H and W', async () => {
    const dir = folder({ 'a.png': await png(7, 5, 1, Array(35).fill(9)) });
    const set = await loadCalibration(dir, modelWithInput(['N', 1, 'H', 'W']), { scale: 1, size: [2, 3] });
    expect(set.sampleShape).toEqual([1, 2, 3]);
    expect((await readAll(set)).data).toEqual(Array(6).fill(9));
  });
});

describe('.npy files', () => {
  const model = modelWithInput(['N', 1, 2, 3]);

  it('reads single samples and batches, in file order, across file boundaries', async () => {
    const dir = folder({
      'a.npy': npy('<f4', [1, 2, 3], iota(6)),
      'b.npy': npy('<f4', [3, 1, 2, 3], iota(18, 100), { version: 2 }),
      'c.npy': npy('<f4', [1, 2, 3], iota(6, 200), { version: 3 }),
    });
    const set = await loadCalibration(dir, model);
    expect([set.count, set.sampleShape]).toEqual([5, [1, 2, 3]]);
    const all = await readAll(set, 2);
    expect(all.counts).toEqual([2, 2, 1]);
    expect(all.data).toEqual([...iota(6), ...iota(18, 100), ...iota(6, 200)]);
    expect(all.sources.map((s) => s.slice(-5))).toEqual(['a.npy', 'b.npy', 'b.npy', 'b.npy', 'c.npy']);
  });

  it('a single .npy file is a calibration path; subset picks its samples in the given order', async () => {
    const dir = folder({ 'x.npy': npy('<f4', [4, 1, 2, 3], iota(24)) });
    const set = await loadCalibration(join(dir, 'x.npy'), model);
    expect(set.count).toBe(4);
    expect((await readAll(set.subset([3, 1]))).data).toEqual([...iota(6, 18), ...iota(6, 6)]);
  });

  it('symbolic dims take the first file\'s values; later files must agree', async () => {
    const symbolic = modelWithInput(['N', 1, 'H', 'W']);
    const good = folder({ 'a.npy': npy('<f4', [2, 1, 2, 2], iota(8)), 'b.npy': npy('<f4', [1, 2, 2], iota(4)) });
    expect((await loadCalibration(good, symbolic)).sampleShape).toEqual([1, 2, 2]);
    const mixed = folder({ 'a.npy': npy('<f4', [1, 2, 2], iota(4)), 'b.npy': npy('<f4', [1, 2, 3], iota(6)) });
    await expectCode(() => loadCalibration(mixed, symbolic), 'E_CALIB_SHAPE', 'b.npy', '[1,2,2]', 'found [1,2,3]');
  });

  it('feed inputs images cannot: 5 channels', async () => {
    const dir = folder({ 'a.npy': npy('<f4', [2, 5, 2, 2], iota(40)) });
    const set = await loadCalibration(dir, modelWithInput(['N', 5, 2, 2]));
    expect([set.count, set.sampleShape]).toEqual([2, [5, 2, 2]]);
  });

  it.each([
    ['float64', npy('<f8', [1, 2, 3], new Float64Array(6)), 'E_CALIB_BAD_FILE', ["'<f8'", 'float64']],
    ['int32', npy('<i4', [1, 2, 3], new Int32Array(6)), 'E_CALIB_BAD_FILE', ["'<i4'", 'int32']],
    ['big-endian float32', npy('>f4', [1, 2, 3], new Float32Array(6)), 'E_CALIB_BAD_FILE', ['big-endian float32']],
    ['Fortran order', npy('<f4', [1, 2, 3], new Float32Array(6), { fortran: true }), 'E_CALIB_BAD_FILE', ['Fortran']],
    ['a wrong sample shape', npy('<f4', [1, 3, 2], new Float32Array(6)), 'E_CALIB_SHAPE', ['[1,2,3] (one sample) or [N,1,2,3]', 'found [1,3,2]']],
    ['a wrong rank', npy('<f4', [2, 3], new Float32Array(6)), 'E_CALIB_SHAPE', ['found [2,3]']],
    ['truncated data', npy('<f4', [1, 2, 3], new Float32Array(5)), 'E_CALIB_BAD_FILE', ['expected 24 bytes', 'found 20']],
    ['not an .npy at all', Buffer.from('x,y\n1,2\n'), 'E_CALIB_BAD_FILE', ['expected a NumPy .npy file']],
  ] as const)('rejects %s, naming the file', async (_, bytes, code, mentions) => {
    const dir = folder({ 'good.npy': npy('<f4', [1, 2, 3], iota(6)), 'bad.npy': bytes });
    await expectCode(() => loadCalibration(dir, model), code, join(dir, 'bad.npy'), ...mentions);
  });

  it.skipIf(pythonOnnxMissing)('reads the files numpy itself writes (versions 1, 2 and 3) and rejects its Fortran-order file', async () => {
    const dir = tmp();
    const script = [
      'import numpy as np, sys',
      'd = sys.argv[1]',
      'a = np.arange(12, dtype=np.float32).reshape(2, 1, 2, 3) / 7',
      "np.save(d + '/a.npy', a)",
      "f = open(d + '/b.npy', 'wb'); np.lib.format.write_array(f, a[0], version=(2, 0)); f.close()",
      "f = open(d + '/c.npy', 'wb'); np.lib.format.write_array(f, a[1], version=(3, 0)); f.close()",
      "np.save(d + '/fortran/f.npy', np.asfortranarray(a))",
    ].join('\n');
    mkdirSync(join(dir, 'fortran'));
    execFileSync('/usr/bin/python3', ['-c', script, dir]);
    const expected = Array.from({ length: 12 }, (_, i) => Math.fround(i / 7));
    const set = await loadCalibration(dir, model, quiet().options);
    expect((await readAll(set)).data).toEqual([...expected, ...expected]);
    await expectCode(() => loadCalibration(join(dir, 'fortran/f.npy'), model), 'E_CALIB_BAD_FILE', 'f.npy', 'Fortran');
  });
});

describe('limit and seed', () => {
  const model = loadModel(join(FIXTURE, 'model.onnx'));
  const calib = join(FIXTURE, 'calib');
  const names = async (options: CalibOptions) => (await readAll(await loadCalibration(calib, model, options), 64)).sources.map((s) => s.slice(-7));

  it('same seed, same subset; another seed, another subset; always in file order', async () => {
    const a = await names({ limit: 20, seed: 5 });
    expect(a).toHaveLength(20);
    expect(new Set(a).size).toBe(20);
    expect(await names({ limit: 20, seed: 5 })).toEqual(a);
    expect(await names({ limit: 20, seed: 6 })).not.toEqual(a);
    expect(await names({ limit: 20 })).toEqual(await names({ limit: 20, seed: 0 }));
    expect([...a].sort()).toEqual(a);
  });

  it('a limit of at least the set size takes everything', async () => {
    expect((await loadCalibration(calib, model, { limit: 256 })).count).toBe(256);
    expect((await loadCalibration(calib, model, { limit: 10_000 })).count).toBe(256);
  });

  it.each([0, -3, 2.5])('rejects limit %s', async (limit) => {
    await expectCode(() => loadCalibration(calib, model, { limit }), 'E_USAGE', 'limit');
  });

  it('sampleIndices draws every index about equally often over many seeds', () => {
    const hits = new Array(10).fill(0);
    for (let seed = 0; seed < 3000; seed++) {
      const s = sampleIndices(10, 3, seed);
      expect(s).toHaveLength(3);
      expect(new Set(s).size).toBe(3);
      expect([...s].sort((x, y) => x - y)).toEqual(s);
      for (const i of s) hits[i]++;
    }
    // 900 expected per index; binomial sd ≈ 25, so ±120 is a wide, still meaningful band.
    for (const h of hits) expect(Math.abs(h - 900)).toBeLessThan(120);
    expect(sampleIndices(4, 9, 1)).toEqual([0, 1, 2, 3]);
  });

  it('mulberry32 is a function of its seed only', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, mulberry32(seed));
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(42).every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('errors and skipped files', () => {
  const gray = modelWithInput(['N', 1, 2, 2]);
  const good = () => png(2, 2, 1, [1, 2, 3, 4]);

  it('a missing folder', async () => {
    const missing = join(tmp(), 'nope');
    await expectCode(() => loadCalibration(missing, gray), 'E_CALIB_NOT_FOUND', missing);
  });

  it('an empty folder', async () => {
    const dir = tmp();
    await expectCode(() => loadCalibration(dir, gray), 'E_CALIB_EMPTY', dir, 'an empty folder');
  });

  it('a folder with only non-image files, a subfolder and a hidden file: each skipped file warned about, then E_CALIB_EMPTY', async () => {
    const dir = folder({ 'notes.txt': 'hello', 'labels.json': '[1, 2]', '.DS_Store': 'x' });
    mkdirSync(join(dir, 'cats'));
    mkdirSync(join(dir, 'cats', 'deeper'));
    writeFileSync(join(dir, 'cats', 'a.png'), await good());
    const { options, warnings } = quiet();
    await expectCode(() => loadCalibration(dir, gray, options), 'E_CALIB_EMPTY', dir, '2 non-image files', '1 subfolder (not searched)', '1 hidden file (ignored)');
    expect(warnings).toEqual([expect.stringContaining('labels.json'), expect.stringContaining('notes.txt')]);
  });

  it('a corrupt PNG among good ones is skipped with a warning naming it', async () => {
    const dir = folder({ 'a.png': await good(), 'b.png': Buffer.from('not really a png'), 'c.png': await good() });
    const { options, warnings } = quiet();
    const set = await loadCalibration(dir, gray, options);
    expect(set.count).toBe(2);
    expect(warnings).toEqual([expect.stringMatching(/b\.png: not an image .*skipped$/)]);
    expect((await readAll(set)).sources.map((s) => s.slice(-5))).toEqual(['a.png', 'c.png']);
  });

  it('a PNG whose header reads but whose pixels are cut off fails when decoded, naming the file', async () => {
    const big = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png({ compressionLevel: 0 }).toBuffer();
    const dir = folder({ 'a.png': await good(), 'cut.png': big.subarray(0, big.length / 2) });
    const set = await loadCalibration(dir, gray);
    expect(set.count).toBe(2);
    await expectCode(() => readAll(set), 'E_CALIB_BAD_FILE', 'cut.png', 'cannot decode');
    // A caller that stops before the bad batch never sees its failure (no unhandled rejection from the prefetch).
    for await (const batch of set.batches(1)) {
      expect(batch.sources[0]).toContain('a.png');
      break;
    }
  });

  it('an image whose channels cannot be mapped to gray or RGB (a 5-band TIFF) fails up front, in one line', async () => {
    const dir = folder({ 'a.png': await good(), 'bands.tif': multibandTiff(2, 2, 5) });
    await expectCode(() => loadCalibration(dir, gray), 'E_CALIB_BAD_FILE', 'bands.tif', 'found 5 channels');
  });

  it('CMYK is 4 channels that map to RGB', async () => {
    const cmyk = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#808080' } }).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).channels).toBe(4);
    const set = await loadCalibration(folder({ 'a.jpg': cmyk }), modelWithInput(['N', 3, 2, 2]), { scale: 1 });
    expect((await readAll(set)).data).toHaveLength(12);
  });

  it('a single file that is not an image or .npy', async () => {
    const dir = folder({ 'x.txt': 'hello' });
    await expectCode(() => loadCalibration(join(dir, 'x.txt'), gray), 'E_CALIB_BAD_FILE', 'x.txt');
  });

  it('images for a model with symbolic H/W and no size: their own size when they all share it, said in one line', async () => {
    const dir = folder({ 'a.png': await png(3, 2, 1, [1, 2, 3, 4, 5, 6]), 'b.png': await png(3, 2, 1, [6, 5, 4, 3, 2, 1]) });
    const { options, warnings } = quiet({ scale: 1 });
    const set = await loadCalibration(dir, modelWithInput(['N', 1, 'H', 'W']), options);
    expect(set.sampleShape).toEqual([1, 2, 3]);
    expect((await readAll(set)).data).toEqual([1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1]);
    expect(warnings).toEqual(['input "x" [N,1,?,?] has a symbolic height and width: using 2x3 (HxW), the size of all 2 calibration images (--size HxW to choose another)']);
    // Only the symbolic dim comes from the images; a given size says nothing.
    expect((await loadCalibration(dir, modelWithInput(['N', 1, 'H', 5]), quiet().options)).sampleShape).toEqual([1, 2, 5]);
    const given = quiet({ size: [4, 4] });
    expect((await loadCalibration(dir, modelWithInput(['N', 1, 'H', 'W']), given.options)).sampleShape).toEqual([1, 4, 4]);
    expect(given.warnings).toEqual([]);
  });

  it('images of different sizes for a model with symbolic H/W and no size', async () => {
    const dir = folder({ 'a.png': await good(), 'b.png': await png(3, 2, 1, [1, 2, 3, 4, 5, 6]) });
    await expectCode(() => loadCalibration(dir, modelWithInput(['N', 3, 'H', 'W'])), 'E_PREPROCESS', 'symbolic height and width', 'a.png is 2x2', 'b.png 2x3', '--size HxW');
  });

  it('a size that contradicts the model', async () => {
    const dir = folder({ 'a.png': await good() });
    await expectCode(() => loadCalibration(dir, gray, { size: [3, 2] }), 'E_PREPROCESS', '3x2', 'height is 2');
  });

  it('images for a model input with 5 channels', async () => {
    const dir = folder({ 'a.png': await good() });
    await expectCode(() => loadCalibration(dir, modelWithInput(['N', 5, 2, 2])), 'E_PREPROCESS', '5 channels', '.npy');
  });

  it('a mean with neither 1 nor C values', async () => {
    const dir = folder({ 'a.png': await png(2, 2, 3, Array(12).fill(5)) });
    await expectCode(() => loadCalibration(dir, modelWithInput(['N', 3, 2, 2]), { mean: [0.5, 0.5] }), 'E_PREPROCESS', 'mean', 'found 2');
  });

  it('a model input that is not float32', async () => {
    const dir = folder({ 'a.png': await good() });
    await expectCode(() => loadCalibration(dir, modelWithInput(['N', 1, 2, 2], DataType.UINT8)), 'E_UNSUPPORTED', 'uint8');
  });

  it('.npy files that hold no samples', async () => {
    const dir = folder({ 'a.npy': npy('<f4', [0, 1, 2, 2], new Float32Array(0)) });
    await expectCode(() => loadCalibration(dir, gray), 'E_CALIB_EMPTY', '0 samples');
  });
});

describe('preprocessing options', () => {
  const write = (text: string) => {
    const file = join(tmp(), 'pre.json');
    writeFileSync(file, text);
    return file;
  };

  it('reads the fixture\'s preprocess.json', () => {
    expect(readPreprocessFile(join(FIXTURE, 'preprocess.json'))).toEqual({ scale: 1 / 255, mean: [0.286], std: [0.353] });
  });

  it('reads every key; size as "HxW" or [h, w]', () => {
    const all = { size: '32x24', resize: 'cover', scale: 0.5, mean: [1, 2, 3], std: [4, 5, 6], channelOrder: 'bgr' };
    expect(readPreprocessFile(write(JSON.stringify(all)))).toEqual({ ...all, size: [32, 24] });
    expect(readPreprocessFile(write('{"size": [7, 9]}'))).toEqual({ size: [7, 9] });
  });

  it.each([
    ['an unknown key', '{"scale": 1, "channel_order": "bgr"}', ['"channel_order"']],
    ['a bad size', '{"size": "28"}', ['size', '"28"']],
    ['a zero std', '{"std": [1, 0, 1]}', ['std']],
    ['an unknown resize mode', '{"resize": "stretch"}', ['resize', 'fill, cover, contain']],
    ['a negative scale', '{"scale": -1}', ['scale']],
    ['a mean that is not an array', '{"mean": 0.5}', ['mean']],
    ['broken JSON', '{"scale": 1,}', ['JSON']],
    ['an array', '[1, 2]', ['an array']],
  ])('rejects %s, naming the file', async (_, text, mentions) => {
    const file = write(text);
    await expectCode(() => readPreprocessFile(file), 'E_PREPROCESS', file, ...mentions);
  });

  it('a missing preprocessing file', async () => {
    await expectCode(() => readPreprocessFile('/nonexistent/pre.json'), 'E_FILE_NOT_FOUND', '/nonexistent/pre.json');
  });

  it('parseSize', async () => {
    expect(parseSize('224x224')).toEqual([224, 224]);
    expect(parseSize(' 28 X 32 ')).toEqual([28, 32]);
    expect(parseSize('5×7')).toEqual([5, 7]);
    for (const bad of ['28', '0x5', 'axb', '28x28x3', '-1x5']) await expectCode(() => parseSize(bad), 'E_PREPROCESS', bad);
  });

  it('options passed in code are checked the same way', async () => {
    const dir = folder({ 'a.png': await png(1, 1, 1, [0]) });
    const model = modelWithInput(['N', 1, 1, 1]);
    await expectCode(() => loadCalibration(dir, model, { scale: Number.NaN }), 'E_PREPROCESS', 'scale');
    await expectCode(() => loadCalibration(dir, model, { colour: 'rgb' } as CalibOptions), 'E_PREPROCESS', '"colour"');
  });
});

describe('streaming', () => {
  it('batches of n, the last one smaller; a bad batch size is refused', async () => {
    const dir = folder({ 'x.npy': npy('<f4', [7, 1, 1, 1], iota(7)) });
    const set = await loadCalibration(dir, modelWithInput(['N', 1, 1, 1]));
    const all = await readAll(set, 3);
    expect(all.counts).toEqual([3, 3, 1]);
    expect(all.data).toEqual(Array.from(iota(7)));
    await expect(set.batches(0).next()).rejects.toThrow(RangeError);
    expect(() => set.subset([7])).toThrow(RangeError);
  });
});
