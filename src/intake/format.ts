import { formatCount } from '../report/table.js';
import type { IntakeChanges, IntakeReport } from './intake.js';

const WORDS: Record<keyof IntakeChanges, string> = {
  initializerInputsDropped: 'initializers no longer listed as graph inputs',
  constantsLifted: 'Constant nodes lifted to initializers',
  identitiesRemoved: 'Identity nodes of constants removed',
  privateCopies: 'private copies of shared weights',
  batchNormsFolded: 'BatchNormalization folded into convs',
  mulAddFolded: 'per-channel Mul/Add folded into convs',
  padsFolded: 'zero Pads folded into convs',
  halfCastsFolded: 'float16 weight Casts folded',
  opsConverted: 'Clip/Pad/Slice nodes converted to opset 11',
};

/** One line saying what intake changed ("intake: nothing to change" when the model was already canonical). */
export function formatIntake(r: IntakeReport): string {
  const parts = (Object.keys(WORDS) as (keyof IntakeChanges)[]).filter((k) => r.changes[k] > 0).map((k) => `${r.changes[k]} ${WORDS[k]}`);
  if (r.opset.before !== r.opset.after) parts.unshift(`opset ${r.opset.before} → ${r.opset.after}`);
  if (!parts.length) return 'intake: nothing to change';
  const params = r.params.before === r.params.after ? '' : `; parameters ${formatCount(r.params.before)} → ${formatCount(r.params.after)}`;
  return `intake: ${parts.join(', ')}${params}`;
}
