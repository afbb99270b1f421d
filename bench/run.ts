import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { formatTable } from '../src/report/table.js';
import { benchLatency } from './latency.js';
import { benchProfile, PROFILE_BENCH_HEADER } from './profile.js';

/** `npm run bench`: prints each benchmark's table and writes them all to bench/results.md. */
const FIXTURE = 'fixtures/resnet20/model.onnx';
const threads = cpus().length;
const sections: string[] = [];

const profile = await benchProfile({ threads });
sections.push(
  `## profile vs plain inference, fixture ResNet-20, 256 calibration images, batch 64, ${threads} threads\n\n` +
    `End to end (session creation and image decoding included), interleaved; peak RSS from a child process per variant. ` +
    `profile / plain = ${profile.ratio.toFixed(2)} (target ≤ 2).\n\n` +
    formatTable(PROFILE_BENCH_HEADER, profile.rows),
);

const latency = await benchLatency(FIXTURE, threads);
sections.push(
  `## onnxruntime latency, fixture ResNet-20, original vs FTM (all qualifying convs, folded form), ${threads} threads\n\n` +
    'Median ms per run over interleaved runs.\n\n' +
    formatTable(['batch', 'original ms', 'ftm ms', 'ftm / original'], latency),
);

const text = `# Benchmarks\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}).\n\n${sections.join('\n\n')}\n`;
process.stdout.write(text);
writeFileSync('bench/results.md', text);
