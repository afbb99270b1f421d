import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

/** Every name a module's export statements give (values and types), following `export * from`. */
function exportedNames(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names = [...text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s+from/g)].flatMap((m) =>
    m[1].split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!).filter(Boolean),
  );
  const stars = [...text.matchAll(/export\s+\*\s+from\s+'([^']+)'/g)].flatMap((m) => exportedNames(join(dirname(file), m[1].replace(/\.js$/, '.ts'))));
  return [...names, ...stars];
}

/** The names docs/library.md's "Public API" section lists (each in backticks). */
function documentedNames(): Set<string> {
  const doc = readFileSync('docs/library.md', 'utf8');
  const section = doc.slice(doc.indexOf('## Public API')).split(/\n## /)[0];
  const list = section.slice(section.indexOf('\n- '));
  return new Set([...list.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]));
}

describe('the public API', () => {
  const exported = new Set(exportedNames('src/index.ts'));
  const documented = documentedNames();
  // Option fields and the like are documented in the same list; only names that look like exports are compared.
  const optionFields = new Set(['choices', 'integer', 'odd', 'min', 'exclusiveMin', 'max', 'layers', 'options', 'stats', 'finalize', 'E_USAGE', 'E_RULE']);

  it('is exactly what docs/library.md lists', () => {
    expect([...exported].filter((n) => !documented.has(n)).sort(), 'exported but not documented').toEqual([]);
    expect([...documented].filter((n) => !exported.has(n) && !optionFields.has(n)).sort(), 'documented but not exported').toEqual([]);
  });

  it('every value export is there at run time', () => {
    for (const name of Object.keys(api)) expect(exported.has(name), name).toBe(true);
  });

  it('keeps internals out: the distillation loop, the fitting engine\'s collectors, runtime plumbing', () => {
    const internals = ['Adam', 'BatchCycler', 'Augmenter', 'DivergenceWatch', 'HeldOutEvaluator', 'cosineLr', 'trainableNames', 'checkDistillOptions', 'collectLayerStats', 'PatchStatsCollector', 'segmentModel', 'captureBatches', 'modelUpTo', 'timeInterleaved', 'refitClassifier', 'mulberry32', 'sampleIndices', 'resolveOptions'];
    expect(internals.filter((n) => n in api || exported.has(n))).toEqual([]);
  });
});
