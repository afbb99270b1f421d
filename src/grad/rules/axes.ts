/** Axis arithmetic the rules share. */

/** A possibly negative axis as its index in a tensor of rank `rank`. */
export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** [from, from + 1, ..., to - 1]. */
export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** The permutation that undoes `perm`. */
export const inversePerm = (perm: readonly number[]): number[] => {
  const inv: number[] = [];
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
};

/** Whether every dim is known. */
export const isStatic = (shape: readonly (number | null)[] | undefined): shape is number[] => !!shape && shape.every((d) => d !== null);
