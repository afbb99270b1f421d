import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foldGather, ftm, lowrank, prune } from '../rewrites/index.js';
import { countParams } from '../src/analysis/params.js';
import { loadModel } from '../src/onnx/load.js';
import { applyRules, finalizeRules } from '../src/rewrite/driver.js';
import { describeOption } from '../src/rewrite/options.js';
import { defineRule, noMatch, type MatchBase } from '../src/rewrite/rule.js';
import { expectCode } from './helpers/errors.js';

const fixture = loadModel('fixtures/resnet20/model.onnx');

/** A rule that never fires and counts the nodes it was asked to match. */
function countingRule() {
  const seen: string[] = [];
  const rule = defineRule<MatchBase, { k: number }>({
    name: 'counting',
    meta: { description: 'declines every Conv', ops: ['Conv'], options: { k: { type: 'number', default: 1, integer: true, min: 1, max: 4, description: 'a knob' } } },
    match: (node) => (seen.push(node.name ?? ''), noMatch('never')),
    rewrite: () => ({ replace: [] }),
  });
  return { rule, seen };
}

describe('rule options are checked once, before any match', () => {
  it.each([
    ['an even knf', { ftm: { knf: 2 } }, 'rule "ftm" option "knf": expected an odd integer ≥ 1, found 2'],
    ['a fractional S', { ftm: { s: 2.5 } }, 'rule "ftm" option "s": expected an integer ≥ 2, found 2.5'],
    ['an S below 2', { ftm: { s: 1 } }, 'rule "ftm" option "s": expected an integer ≥ 2, found 1'],
    ['an unknown form', { ftm: { form: 'flat' } }, 'rule "ftm" option "form": expected one of "gathered", "folded", "module", found "flat"'],
    ['a string for a number', { ftm: { s: 'two' } }, 'rule "ftm" option "s": expected an integer ≥ 2, found "two"'],
    ['an unknown option', { ftm: { ratio: 2 } }, 'rule "ftm" has no option "ratio" (options: s, knf, form, includeFirst)'],
    ['options of a rule not applied', { prune: { ratio: 0.5 } }, 'options given for rule "prune", which is not applied (rules: ftm)'],
  ])('%s: one E_USAGE naming the rule, the option, what it takes and what was given', (_, options, message) => {
    expect(expectCode(() => applyRules(fixture, [ftm], { options }), 'E_USAGE').message).toBe(message);
  });

  it('a bad value of a later rule stops the run before the first rule matches anything', () => {
    const { rule, seen } = countingRule();
    expectCode(() => applyRules(fixture, [rule, ftm], { options: { ftm: { knf: 0 } } }), 'E_USAGE');
    expect(seen).toEqual([]);
    applyRules(fixture, [rule], { options: { counting: { k: 4 } } });
    expect(seen.length).toBe(fixture.graph.nodes.filter((n) => n.opType === 'Conv').length);
    expect(expectCode(() => applyRules(fixture, [rule], { options: { counting: { k: 5 } } }), 'E_USAGE').message).toBe('rule "counting" option "k": expected an integer in [1, 4], found 5');
  });

  it('a default the rule\'s own spec refuses is E_RULE, the rule\'s bug, unless the caller sets the option', () => {
    const { rule } = countingRule();
    const broken = { ...rule, meta: { ...rule.meta, options: { k: { ...rule.meta.options.k, default: 0 } } } };
    expect(expectCode(() => applyRules(fixture, [broken]), 'E_RULE').message).toBe('rule "counting" option "k": its default 0 is not an integer in [1, 4]');
    expect(applyRules(fixture, [broken], { options: { counting: { k: 2 } } }).records.length).toBeGreaterThan(0);
  });

  it('a valid value that no layer can take still declines per layer, with the reason', () => {
    const r = applyRules(fixture, [lowrank], { options: { lowrank: { rank: 1000 } } });
    expect(r.records.filter((x) => x.status === 'fired')).toEqual([]);
    expect(r.records.find((x) => x.node === '/layer1/layer1.0/conv1/Conv')?.reason).toBe("rank 1000 exceeds the kernel's full rank min(C_out, C_in·k²) = 16");
  });

  it('docs/cli.md lists every option of the built-in rules with what it accepts and its default', () => {
    const doc = readFileSync('docs/cli.md', 'utf8');
    for (const rule of [ftm, lowrank, prune]) {
      for (const [name, spec] of Object.entries(rule.meta.options as Record<string, Parameters<typeof describeOption>[0]>)) {
        expect(doc, `${rule.name} ${name}`).toContain(`| \`${rule.name}\` | \`${name}\` | ${describeOption(spec)}`);
        expect(doc, `${rule.name} ${name} default`).toMatch(new RegExp(`\\| \`${rule.name}\` \\| \`${name}\` \\| [^|]+ \\| ${JSON.stringify(spec.default).replace(/[.]/g, '\\.')}[ (]`));
      }
    }
  });

  it('the built-in rules declare what they take', () => {
    const spec = (rule: typeof ftm | typeof lowrank | typeof prune, name: string) => describeOption((rule.meta.options as Record<string, Parameters<typeof describeOption>[0]>)[name]);
    expect([spec(ftm, 's'), spec(ftm, 'knf'), spec(ftm, 'form'), spec(ftm, 'includeFirst')]).toEqual(['an integer ≥ 2', 'an odd integer ≥ 1', 'one of "gathered", "folded", "module"', 'a boolean']);
    expect([spec(lowrank, 'rank'), spec(lowrank, 'budget'), spec(prune, 'ratio')]).toEqual(['an integer ≥ 0', 'a number in (0, 1]', 'a number in (0, 1]']);
  });
});

describe('the driver finalizes', () => {
  it('runs the fired rules\' finalize rules and counts the parameters of the finalized model', () => {
    // Neighbours paired (2j with 2j+1) instead of j with j+C/2: each rewritten conv then leaves a channel reorder (Gather)
    // in the folded form (the gathered form has its Gather before its affine, where no conv can take it).
    const stats = Object.fromEntries(
      fixture.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => [n.name!, { groups: Array.from({ length: n.inputs[1]!.initializer!.dims[0] / 2 }, (_, j) => [2 * j, 2 * j + 1]) }]),
    );
    const options = { ftm: { form: 'folded' } };
    const plain = applyRules(fixture, [ftm], { stats, options });
    const twoSteps = finalizeRules(plain.model, [ftm]);
    const finalized = applyRules(fixture, [ftm], { stats, options, finalize: true });
    const gathers = (m: typeof fixture) => m.graph.nodes.filter((n) => n.opType === 'Gather').length;
    expect(gathers(plain.model)).toBe(plain.records.filter((r) => r.status === 'fired').length);
    // The reorders fold-gather can take are folded into the weights of the convs reading them.
    expect(gathers(finalized.model)).toBe(gathers(twoSteps.model));
    expect(gathers(finalized.model)).toBeLessThan(gathers(plain.model));
    expect(finalized.paramsAfter).toBe(countParams(finalized.model.graph));
    expect(finalized.paramsAfter).toBe(twoSteps.paramsAfter);
    expect(finalized.paramsBefore).toBe(plain.paramsBefore);
    expect(finalized.records.map(({ params: _, fit: __, ...r }) => r)).toEqual(plain.records.map(({ params: _, fit: __, ...r }) => r));
    expect(finalized.records.some((r) => r.fit)).toBe(false);
  });

  it('runs no finalize rule of a rule that did not fire', () => {
    const seen: string[] = [];
    const spy = defineRule({ ...foldGather, name: 'spy', meta: { ...foldGather.meta, ops: ['Relu'] }, match: (node) => (seen.push(node.name ?? ''), noMatch('never')) });
    const withFinalize = { ...lowrank, meta: { ...lowrank.meta, finalize: [spy] } };
    applyRules(fixture, [withFinalize], { options: { lowrank: { rank: 1000 } }, finalize: true });
    expect(seen).toEqual([]);
    applyRules(fixture, [withFinalize], { options: { lowrank: { rank: 4 } }, finalize: true });
    expect(seen.length).toBeGreaterThan(0);
  });
});
