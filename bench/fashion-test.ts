import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { calibrationFromArray, type CalibrationSet } from '../src/index.js';

/** The full Fashion-MNIST test set from Debian's dataset-fashion-mnist, preprocessed as the fixture was trained. */
const DIR = '/usr/share/datasets/fashion-mnist';

export function fashionTestSet(): { data: CalibrationSet; labels: Uint8Array } {
  const images = gunzipSync(readFileSync(`${DIR}/t10k-images-idx3-ubyte.gz`)).subarray(16);
  const labels = gunzipSync(readFileSync(`${DIR}/t10k-labels-idx1-ubyte.gz`)).subarray(8);
  const pre = JSON.parse(readFileSync('fixtures/resnet20/preprocess.json', 'utf8')) as { scale: number; mean: number[]; std: number[] };
  const data = Float32Array.from(images, (v) => (v * pre.scale - pre.mean[0]) / pre.std[0]);
  return { data: calibrationFromArray('input', [1, 28, 28], data), labels };
}
