import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { cli } from './helpers/cli.js';

const FIXTURE = 'fixtures/resnet20/model.onnx';

describe('rewrite command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftm-rewrite-'));

  it('rewrites the named layers with the rule options given, and reports parameters before/after', () => {
    const out = join(dir, 'ftm.onnx');
    const r = cli(['rewrite', FIXTURE, '--rule', 'ftm', '--s', '4', '--layers', '/layer3/layer3.2/conv1/Conv,/conv1/Conv', '-o', out, '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.records.map((x: { node: string; status: string }) => `${x.node} ${x.status}`)).toEqual(['/conv1/Conv declined', '/layer3/layer3.2/conv1/Conv fired']);
    const model = loadModel(out);
    const dw = model.graph.initializers.find((v) => v.name === '/layer3/layer3.2/conv1/Conv/ftm/dw.weight')!;
    expect(dw.initializer!.dims).toEqual([16, 1, 3, 3]); // m = 64 / 4
    expect(report.paramsAfter).toBe(loadModel(FIXTURE).graph.initializers.reduce((n, v) => n + v.initializer!.size, 0) - 36928 + (16 * 64 + 16 + 16 * 9 + 2 * 64));
  });

  it('takes --ratio-s, the deprecated name of --s', () => {
    const out = join(dir, 'ratio-s.onnx');
    const r = cli(['rewrite', FIXTURE, '--ratio-s', '4', '--layers', '/layer3/layer3.2/conv1/Conv', '-o', out]);
    expect(r.status).toBe(0);
    const dw = loadModel(out).graph.initializers.find((v) => v.name === '/layer3/layer3.2/conv1/Conv/ftm/dw.weight')!;
    expect(dw.initializer!.dims).toEqual([16, 1, 3, 3]);
  });

  it.each([
    ['an unknown rule', ['--rule', 'nope'], /unknown rule "nope" \(built-in: ftm, lowrank, prune, fold-gather/],
    ['an unknown layer', ['--layers', 'nope'], /no node named "nope" in the model/],
    ['an unknown rule option', ['--option', 'speed=3'], /rule "ftm" has no option "speed"/],
    ['an option of the wrong type', ['--option', 's=two'], /rule "ftm" option "s": expected an integer ≥ 2, found "two"/],
    ['an option out of range', ['--option', 'knf=2'], /rule "ftm" option "knf": expected an odd integer ≥ 1, found 2/],
    ['an option another rule has', ['--rule', 'prune', '--s', '3'], /rule "prune" has no option "s" \(options: ratio\)/],
  ])('%s: E_USAGE, exit 40, nothing written', (_, extra, message) => {
    const out = join(dir, `bad-${extra[0]}.onnx`);
    const r = cli(['rewrite', FIXTURE, '-o', out, ...extra]);
    expect(r.status).toBe(40);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses to overwrite its input, and an unwritable output leaves nothing behind', () => {
    const same = cli(['rewrite', FIXTURE, '-o', FIXTURE]);
    expect(same.status).toBe(21);
    const missing = cli(['rewrite', FIXTURE, '-o', join(dir, 'no/such/dir/out.onnx')]);
    expect(missing.status).toBe(22);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
