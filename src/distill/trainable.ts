import { ftmError } from '../errors.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import type { RewriteRecord } from '../rewrite/driver.js';

/**
 * The initializers to train: the new tensors of the fired rewrites (by the names they have in `student`; tensors a
 * later clean-up removed are skipped), or every float initializer the caller cannot override.
 */
export function trainableNames(student: Model, records: readonly RewriteRecord[], train: 'rewritten' | 'all' | readonly string[]): string[] {
  const g = student.graph;
  const trainable = (name: string | undefined) => {
    const v = name === undefined ? undefined : g.lookup(name);
    return !!v?.initializer && v.isConstant && v.initializer.dataType === DataType.FLOAT;
  };
  if (train === 'all') return g.initializers.filter((v) => trainable(v.name)).map((v) => v.name);
  if (Array.isArray(train)) {
    const bad = train.find((n) => !trainable(n));
    if (bad !== undefined) throw ftmError('E_USAGE', `cannot train "${bad}": the student has no float32 initializer of that name (or callers may override it)`, student.path);
    return [...new Set(train)];
  }
  const names = records.filter((r) => r.status === 'fired').flatMap((r) => [...(r.params?.values() ?? [])].map((t) => t.name));
  return [...new Set(names.filter((n): n is string => trainable(n)))];
}

/**
 * The float32 initializers of `student` that `teacher` has no tensor of that name for: the tensors rewrites (and their
 * clean-ups) created, since the rewrite driver never reuses a name. For a caller that has the two models but not the
 * rewrite records.
 */
export function newParameterNames(teacher: Model, student: Model): string[] {
  return student.graph.initializers.filter((v) => v.isConstant && v.initializer!.dataType === DataType.FLOAT && !teacher.graph.lookup(v.name)).map((v) => v.name);
}
