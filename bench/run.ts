import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { formatTable } from '../src/report/table.js';
import { applyRules, loadModel } from '../src/index.js';
import { ftm } from '../rewrites/index.js';
import { ACCURACY_HEADER, benchAccuracy } from './accuracy.js';
import { compareLatency } from './latency.js';
import { benchLatencyTable, latencyTable, writeLatencyTable } from './latency-table.js';
import { benchProfile, PROFILE_BENCH_HEADER } from './profile.js';
import { benchMixedCost, DEFAULT_MODELS, mixedCostPage } from './mixed-cost.js';
import { benchScale, scalePage } from './scale.js';
import { benchRealModels, realModelsPage } from './real-models.js';
import { benchFixturesAccuracy } from './fixtures-accuracy.js';
import { benchTrainingSpeed, fixtureTraining, trainingSpeedTable } from './training-speed.js';
import { benchDistillStepCost, stepCostPage } from './distill-step-cost.js';

/** `npm run bench`: prints each benchmark's table and writes them all to bench/results.md (the real-model manifest's to bench/real-models.md). */
const threads = cpus().length;
const sections: string[] = [];

const accuracy = await benchAccuracy(threads);
sections.push(
  `## The main job on the fixture ResNet-20: accuracy, size, time, latency (${threads} threads)\n\n` +
    '`ftm-compress fixtures/resnet20/model.onnx --calib fixtures/resnet20/calib --preprocess fixtures/resnet20/preprocess.json ' +
    '--target-ratio R --rule RULE [--no-distill]` (256 calibration images, 32 of them held out); top-1 on the full 10k Fashion-MNIST test ' +
    '(Debian dataset-fashion-mnist); latency = median onnxruntime ms per run, interleaved with the original.\n\n' +
    formatTable(ACCURACY_HEADER, accuracy),
);

const original = loadModel('fixtures/resnet20/model.onnx');
const allFtm = applyRules(original, [ftm], { finalize: true }).model;
const latency = await compareLatency(original, allFtm, [1, 28, 28], [1, 32], threads);
sections.push(
  `## onnxruntime latency: the fixture before and after an FTM rewrite of all 20 qualifying convs (folded form), ${threads} threads\n\n` +
    'Median ms per run, original and rewritten interleaved in one run.\n\n' +
    formatTable(['batch', 'original ms', 'ftm ms', 'ftm / original'], latency.map((l) => [String(l.batch), l.a.toFixed(3), l.b.toFixed(3), (l.b / l.a).toFixed(2)])),
);

const profile = await benchProfile({ threads });
sections.push(
  `## profile vs plain inference, fixture ResNet-20, 256 calibration images, batch 64, ${threads} threads\n\n` +
    `End to end (session creation and image decoding included), interleaved; peak RSS from a child process per variant. ` +
    `profile / plain = ${profile.ratio.toFixed(2)} (target ≤ 2).\n\n` +
    formatTable(PROFILE_BENCH_HEADER, profile.rows),
);

const speed = await benchTrainingSpeed(await fixtureTraining(threads), threads);
sections.push(
  `## Distillation's training graph against one forward pass, fixture ResNet-20, FTM at 0.21, ${threads} threads\n\n` +
    '`npx tsx bench/training-speed.ts` (its `--profile` run, with where the time goes, is in [training-speed.md](training-speed.md)): ' +
    'warm medians (6 runs back to back per turn, the first dropped; turns interleaved; each session alone, its threads spinning). ' +
    'forward: the student as emitted (constant weights); fed forward: the same graph with the trainables fed as inputs; ' +
    'training graph: forward, loss and backward; backward = training graph − fed forward.\n\n' +
    trainingSpeedTable(speed),
);

// A distillation step's cost on every fixture, the ground of the default budget's overhead: bench/distill-step-cost.md.
const stepCost = stepCostPage(await benchDistillStepCost(120, 3, threads), 120, 3, threads);
writeFileSync('bench/distill-step-cost.md', stepCost);
process.stdout.write(stepCost);

// Every fixture, ratio, rule and seed: long; its tables go to bench/fixtures-accuracy.md.
process.stdout.write(await benchFixturesAccuracy({ threads }));

// torchvision ResNets at 224×224 and the calibration-size series: long; the table goes to bench/scale.md.
const scale = scalePage(await benchScale({ threads }), threads);
writeFileSync('bench/scale.md', scale);
process.stdout.write(scale);

// The mixed plan against FTM alone on the same networks: bench/mixed-cost.md.
const mixedCost = mixedCostPage(await benchMixedCost(DEFAULT_MODELS, threads), threads);
writeFileSync('bench/mixed-cost.md', mixedCost);
process.stdout.write(mixedCost);

const real = await benchRealModels();
process.stdout.write(realModelsPage(real.manifest, real.rows, 'npm run bench'));

// Every bench and manifest model through the default job, re-timed against its original: long; the table goes into bench/latency.md.
const latencyRows = await benchLatencyTable();
writeLatencyTable(latencyRows);
process.stdout.write(`${latencyTable(latencyRows)}\n`);

const text = `# Benchmarks\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}).\n\n${sections.join('\n\n')}\n\nDistillation runs (\`npx tsx bench/distill.ts ...\`) are in [distill-results.md](distill-results.md); the real-model manifest's table (\`npx tsx bench/real-models.ts\`) in [real-models.md](real-models.md); every model's latency ratio (\`node dist/bench/latency-table.js\`) in [latency.md](latency.md).\n`;
process.stdout.write(text);
writeFileSync('bench/results.md', text);
