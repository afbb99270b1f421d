/**
 * The import graph's rules (`npm run lint:deps`, run first by `npm test`): the layers of ARCHITECTURE.md, bottom up.
 * A module imports only from its own layer's folder and the layers below it; a layer's folders that are listed as
 * independent do not import each other either. No import circle, except inside the IR (Graph, Node and Value refer to
 * each other by design).
 */
const layers = [
  { name: 'errors', paths: ['src/errors.ts'] },
  { name: 'ir', paths: ['src/ir/'] },
  // Pure functions over the IR (and the output folder's file checks): no onnxruntime, no protobuf.
  { name: 'ir-algorithms', paths: ['src/graph/', 'src/linalg/', 'src/output/', 'src/report/', 'src/analysis/'], independent: true },
  { name: 'onnx', paths: ['src/onnx/'] },
  { name: 'calib', paths: ['src/calib/'] },
  { name: 'runtime', paths: ['src/runtime/'] },
  // The rule API (rules, Builder, driver, fit contract, RuleTester).
  { name: 'rewrite', paths: ['src/rewrite/'] },
  // The pipeline's stages: libraries the main job composes, each knowing none of the others (distillation trains
  // through the gradient graph).
  {
    name: 'stages',
    paths: ['src/intake/', 'src/plan/', 'src/fit/', 'src/grad/', 'src/profile/', 'src/distill/'],
    independent: true,
    allowed: [['src/distill/', 'src/grad/']],
  },
  { name: 'compress', paths: ['src/compress/'] },
  { name: 'reports', paths: ['src/html/', 'src/inspect/'], independent: true },
  { name: 'public-api', paths: ['src/index.ts'] },
  { name: 'rules', paths: ['rewrites/', 'examples/'], independent: true },
  { name: 'commands', paths: ['src/commands/'] },
  { name: 'cli', paths: ['src/cli.ts'] },
  { name: 'dev', paths: ['bench/', 'test/'] },
];

/** Tests (also those beside the rules in rewrites/) are dev code, of the top layer wherever they sit. */
const TEST = '\\.test\\.ts$';

const regex = (paths) => `^(${paths.map((p) => p.replace(/[.]/g, '\\.') + (p.endsWith('/') ? '' : '$')).join('|')})`;

const upward = layers.slice(0, -1).map((layer, i) => ({
  name: `${layer.name}-imports-nothing-above`,
  comment: `${layer.paths.join(', ')} may import only from the layers below it (ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: regex(layer.paths), pathNot: TEST },
  to: { path: regex(layers.slice(i + 1).flatMap((l) => l.paths)) },
}));

const sideways = layers
  .filter((layer) => layer.independent)
  .flatMap((layer) =>
    layer.paths.map((from) => ({
      name: `${layer.name}-are-independent`,
      comment: `${layer.paths.join(', ')} do not import each other`,
      severity: 'error',
      from: { path: regex([from]), pathNot: TEST },
      to: { path: regex(layer.paths.filter((to) => to !== from && !(layer.allowed ?? []).some(([a, b]) => a === from && b === to))) },
    })),
  );

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import circle (a type-only one included), except among the IR classes',
      severity: 'error',
      from: { pathNot: '^src/ir/' },
      to: { circular: true },
    },
    ...upward,
    ...sideways,
    {
      name: 'rules-use-the-public-api',
      comment: 'built-in rules and the examples are written with the public API only, as a user writes a rule',
      severity: 'error',
      from: { path: '^(rewrites|examples)/', pathNot: TEST },
      to: { path: '^src/', pathNot: '^src/index\\.ts$' },
    },
    {
      name: 'yargs-only-in-the-cli',
      comment: 'argument parsing lives in src/cli.ts and src/commands; the library never parses arguments',
      severity: 'error',
      from: { path: '^(src|rewrites|examples)/', pathNot: '^src/(cli\\.ts$|commands/)' },
      to: { path: 'node_modules/(@types/)?yargs/' },
    },
    {
      name: 'protobuf-only-at-the-edge',
      comment: 'the rest of the tool sees the IR: only src/onnx reads or writes ModelProto',
      severity: 'error',
      from: { path: '^(src|rewrites|examples)/', pathNot: '^src/onnx/' },
      to: { path: 'node_modules/(onnx-proto|protobufjs|long)/' },
    },
    {
      name: 'onnxruntime-only-in-runtime',
      comment: 'sessions are made by src/runtime (Runner), from an IR model',
      severity: 'error',
      from: { path: '^(src|rewrites|examples)/', pathNot: '^src/runtime/' },
      to: { path: 'node_modules/onnxruntime-node/' },
    },
    {
      name: 'resolvable',
      comment: 'an import the cruiser cannot resolve would escape every rule above',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.test.json' },
    // Type-only imports count: a circle of types is still a circle.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
