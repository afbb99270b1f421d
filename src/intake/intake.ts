import { assertValid } from '../graph/validate.js';
import { countParams } from '../analysis/params.js';
import { cloneModel } from '../ir/clone.js';
import { onnxOpset, type Model } from '../ir/model.js';
import { applyRules } from '../rewrite/driver.js';
import { isNoMatch } from '../rewrite/rule.js';
import { checkBatchNorms } from './check-batch-norms.js';
import { removeConstantIdentities } from './identity-of-constant.js';
import { dropInitializerInputs } from './initializer-inputs.js';
import { liftConstants } from './lift-constants.js';
import { privateCopies } from './private-copies.js';
import { raiseOpset } from './raise-opset.js';
import { canonicalRules } from './rules/index.js';

/** What intake changed, by kind (0 when it found nothing of that kind). */
export interface IntakeChanges {
  /** Graph inputs that only re-listed an initializer (the initializer stays). */
  initializerInputsDropped: number;
  /** Constant nodes that became initializers. */
  constantsLifted: number;
  /** Identity nodes of a constant, whose readers now read the constant. */
  identitiesRemoved: number;
  /** Copies of a shared weight or bias given to a layer, so a rule can rewrite that layer alone. */
  privateCopies: number;
  batchNormsFolded: number;
  /** Mul or Add by a per-channel constant folded into the Conv before it. */
  mulAddFolded: number;
  /** Zero Pads folded into the Conv after them. */
  padsFolded: number;
  /** Casts of float16 constants to float32 replaced by the float32 constant. */
  halfCastsFolded: number;
  /** Clip, Pad and Slice nodes rewritten to their opset-11 form when the opset was raised. */
  opsConverted: number;
}

/** What intake did to a model: the changes, the opset, and the parameters before and after (folds remove some). */
export interface IntakeReport {
  changes: IntakeChanges;
  opset: { before?: number; after?: number };
  params: { before: number; after: number };
}

/** The count each canonicalization rule adds to when it fires. */
const RULE_COUNTS: Record<string, keyof IntakeChanges> = {
  'fold-batch-norm': 'batchNormsFolded',
  'fold-mul-add': 'mulAddFolded',
  'fold-pad': 'padsFolded',
  'cast-half-constant': 'halfCastsFolded',
};

/** Folds can enable each other (Conv → Mul → Add); a chain longer than this is not something exporters write. */
const MAX_ROUNDS = 8;

/**
 * Model intake: turns the forms exporters write into the form the rewrite rules expect, without changing what the
 * model computes (up to float rounding of the folds). An opset below 11 is raised when no operator's meaning changes
 * (the FTM rule emits opset-11 Slices), initializers stop being graph inputs too, Constants become initializers,
 * Identities of constants go, shared layer weights get private copies, and a canonicalization rule set
 * (BatchNormalization, per-channel Mul/Add and zero Pads folded into convs, float16 weight Casts) runs to a fixed point
 * on the public rule API. The caller's model is not changed (docs/intake.md).
 */
export function intakeModel(model: Model): { model: Model; changes: IntakeChanges; report: IntakeReport } {
  let current = cloneModel(model);
  const changes: IntakeChanges = { initializerInputsDropped: 0, constantsLifted: 0, identitiesRemoved: 0, privateCopies: 0, batchNormsFolded: 0, mulAddFolded: 0, padsFolded: 0, halfCastsFolded: 0, opsConverted: 0 };
  checkBatchNorms(current.graph);
  const opsetBefore = onnxOpset(current);
  changes.opsConverted = raiseOpset(current) ?? 0;
  changes.initializerInputsDropped = dropInitializerInputs(current);
  changes.constantsLifted = liftConstants(current.graph);
  changes.identitiesRemoved = removeConstantIdentities(current.graph);
  changes.privateCopies = privateCopies(current.graph);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // applyRules works on a copy of the model: skip it when no rule can fire (the common case for clean exports).
    if (!anyMatch(current)) break;
    const named = new Set(current.graph.nodes.flatMap((n) => (n.name ? [n.name] : [])));
    const result = applyRules(current, canonicalRules);
    const fired = result.records.filter((r) => r.status === 'fired');
    if (!fired.length) break;
    current = result.model;
    // A fold replaces a conv by one new conv, which may be folded again in the same round: the last one takes the
    // original layer's name, which users pass to --layers.
    const layerName = new Map<string, string>();
    for (const r of fired) {
      changes[RULE_COUNTS[r.rule]]++;
      const name = layerName.get(r.node) ?? r.node;
      if (named.has(name) && r.newNodes?.length === 1) layerName.set(r.newNodes[0], name);
    }
    for (const [from, to] of layerName) renameNode(current, from, to);
  }
  changes.privateCopies += privateCopies(current.graph);
  assertValid(current.graph, 'the model after intake');
  const report = { changes, opset: { before: opsetBefore, after: onnxOpset(current) }, params: { before: countParams(model.graph), after: countParams(current.graph) } };
  return { model: current, changes, report };
}

function anyMatch(model: Model): boolean {
  return model.graph.nodes.some((node) =>
    canonicalRules.some((rule) => node.isOnnxDomain && rule.meta.ops.includes(node.opType) && !isNoMatch(rule.match(node, { model, graph: model.graph, options: {} }))),
  );
}

function renameNode(model: Model, from: string, to: string): void {
  const node = model.graph.nodes.find((n) => n.name === from);
  if (!node) return;
  node.name = to;
  model.graph.reserveNodeName(to);
}

