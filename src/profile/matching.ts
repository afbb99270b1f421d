/**
 * Maximum-weight matching in a general graph: Edmonds' blossom algorithm with dual variables, O(n³), after Joris van
 * Rantwijk's reference implementation (mwmatching.py, public domain), which networkx uses too. Weights should be
 * integers: every quantity then stays an integer, exact in doubles, and no tolerance is needed.
 *
 * Vocabulary of the algorithm: vertices are 0..n-1; edge k has endpoints 2k and 2k+1 ("p ^ 1" is the other end);
 * a blossom is an odd cycle shrunk into one node (ids n..2n-1); labels are 1 (S, outer), 2 (T, inner), 0 (free).
 */

export type WeightedEdge = readonly [i: number, j: number, weight: number];

/**
 * For each vertex, its mate, or -1 when unmatched. With `maxCardinality`, the matching of greatest weight among those
 * with the most edges.
 */
export function maxWeightMatching(vertices: number, edges: readonly WeightedEdge[], maxCardinality = false): Int32Array {
  const result = new Int32Array(vertices).fill(-1);
  if (edges.length === 0) return result;
  result.set(new Blossoms(vertices, edges, maxCardinality).solve());
  return result;
}

class Blossoms {
  private readonly n: number;
  /** Endpoints of edge k at 2k and 2k+1 (flat typed arrays: the dense graphs of pairing have ~C²/2 edges). */
  private readonly endpoint: Int32Array;
  private readonly weight: Float64Array;
  private readonly neighbend: number[][];
  private readonly mate: Int32Array;
  private readonly label: Int32Array;
  private readonly labelend: Int32Array;
  private readonly inblossom: Int32Array;
  private readonly blossomparent: Int32Array;
  private readonly blossomchilds: (number[] | null)[];
  private readonly blossombase: Int32Array;
  private readonly blossomendps: (number[] | null)[];
  private readonly bestedge: Int32Array;
  private readonly blossombestedges: (number[] | null)[];
  private readonly unusedblossoms: number[];
  private readonly dualvar: Float64Array;
  private readonly allowedge: Uint8Array;
  private queue: number[] = [];

  constructor(
    vertices: number,
    edges: readonly WeightedEdge[],
    private readonly maxCardinality: boolean,
  ) {
    const n = (this.n = vertices);
    const m = edges.length;
    this.endpoint = new Int32Array(2 * m);
    this.weight = new Float64Array(m);
    this.neighbend = Array.from({ length: n }, () => []);
    let maxweight = 0;
    edges.forEach(([i, j, w], k) => {
      this.endpoint[2 * k] = i;
      this.endpoint[2 * k + 1] = j;
      this.weight[k] = w;
      maxweight = Math.max(maxweight, w);
      this.neighbend[i].push(2 * k + 1);
      this.neighbend[j].push(2 * k);
    });
    this.mate = new Int32Array(n).fill(-1);
    this.label = new Int32Array(2 * n);
    this.labelend = new Int32Array(2 * n).fill(-1);
    this.inblossom = Int32Array.from({ length: n }, (_, i) => i);
    this.blossomparent = new Int32Array(2 * n).fill(-1);
    this.blossomchilds = Array(2 * n).fill(null);
    this.blossombase = Int32Array.from({ length: 2 * n }, (_, i) => (i < n ? i : -1));
    this.blossomendps = Array(2 * n).fill(null);
    this.bestedge = new Int32Array(2 * n).fill(-1);
    this.blossombestedges = Array(2 * n).fill(null);
    this.unusedblossoms = Array.from({ length: n }, (_, i) => n + i);
    this.dualvar = Float64Array.from({ length: 2 * n }, (_, i) => (i < n ? maxweight : 0));
    this.allowedge = new Uint8Array(m);
  }

  /** The mate of each vertex, -1 when unmatched. Each stage adds one edge, so n stages always suffice. */
  solve(): number[] {
    for (let stage = 0; stage < this.n; stage++) if (!this.stage()) break;
    return Array.from(this.mate, (p) => (p >= 0 ? this.endpoint[p] : -1));
  }

  private slack(k: number): number {
    return this.dualvar[this.endpoint[2 * k]] + this.dualvar[this.endpoint[2 * k + 1]] - 2 * this.weight[k];
  }

  private leaves(b: number, out: number[] = []): number[] {
    if (b < this.n) out.push(b);
    else for (const t of this.blossomchilds[b]!) this.leaves(t, out);
    return out;
  }

  /** Labels the top blossom of `w` with `t`, reached through endpoint `p`; a T blossom labels its mate S in turn. */
  private assignLabel(w: number, t: number, p: number): void {
    const b = this.inblossom[w];
    this.label[w] = this.label[b] = t;
    this.labelend[w] = this.labelend[b] = p;
    this.bestedge[w] = this.bestedge[b] = -1;
    if (t === 1) this.queue.push(...this.leaves(b));
    else {
      const base = this.blossombase[b];
      this.assignLabel(this.endpoint[this.mate[base]], 1, this.mate[base] ^ 1);
    }
  }

  /** Traces back from v and w to find a new blossom's base, or -1 when the path is augmenting. */
  private scanBlossom(v: number, w: number): number {
    const path: number[] = [];
    let base = -1;
    while (v !== -1 || w !== -1) {
      let b = this.inblossom[v];
      if (this.label[b] & 4) {
        base = this.blossombase[b];
        break;
      }
      path.push(b);
      this.label[b] = 5;
      if (this.labelend[b] === -1) v = -1;
      else {
        v = this.endpoint[this.labelend[b]];
        b = this.inblossom[v];
        v = this.endpoint[this.labelend[b]];
      }
      if (w !== -1) [v, w] = [w, v];
    }
    for (const b of path) this.label[b] = 1;
    return base;
  }

  /** Shrinks the odd cycle closed by edge k, with base vertex `base`, into a new S blossom. */
  private addBlossom(base: number, k: number): void {
    let v = this.endpoint[2 * k];
    let w = this.endpoint[2 * k + 1];
    const bb = this.inblossom[base];
    let bv = this.inblossom[v];
    let bw = this.inblossom[w];
    const b = this.unusedblossoms.pop()!;
    this.blossombase[b] = base;
    this.blossomparent[b] = -1;
    this.blossomparent[bb] = b;
    const path: number[] = [];
    const endps: number[] = [];
    while (bv !== bb) {
      this.blossomparent[bv] = b;
      path.push(bv);
      endps.push(this.labelend[bv]);
      v = this.endpoint[this.labelend[bv]];
      bv = this.inblossom[v];
    }
    path.push(bb);
    path.reverse();
    endps.reverse();
    endps.push(2 * k);
    while (bw !== bb) {
      this.blossomparent[bw] = b;
      path.push(bw);
      endps.push(this.labelend[bw] ^ 1);
      w = this.endpoint[this.labelend[bw]];
      bw = this.inblossom[w];
    }
    this.blossomchilds[b] = path;
    this.blossomendps[b] = endps;
    this.label[b] = 1;
    this.labelend[b] = this.labelend[bb];
    this.dualvar[b] = 0;
    for (const leaf of this.leaves(b)) {
      if (this.label[this.inblossom[leaf]] === 2) this.queue.push(leaf);
      this.inblossom[leaf] = b;
    }
    // The least-slack edge from the new blossom to each other S blossom, for the dual update.
    const bestedgeto = Array(2 * this.n).fill(-1);
    for (const child of path) {
      const lists = this.blossombestedges[child] ? [this.blossombestedges[child]!] : this.leaves(child).map((leaf) => this.neighbend[leaf].map((p) => p >> 1));
      for (const list of lists) {
        for (const e of list) {
          const j = this.endpoint[this.inblossom[this.endpoint[2 * e + 1]] === b ? 2 * e : 2 * e + 1];
          const bj = this.inblossom[j];
          if (bj !== b && this.label[bj] === 1 && (bestedgeto[bj] === -1 || this.slack(e) < this.slack(bestedgeto[bj]))) bestedgeto[bj] = e;
        }
      }
      this.blossombestedges[child] = null;
      this.bestedge[child] = -1;
    }
    const best = bestedgeto.filter((e) => e !== -1);
    this.blossombestedges[b] = best;
    this.bestedge[b] = -1;
    for (const e of best) if (this.bestedge[b] === -1 || this.slack(e) < this.slack(this.bestedge[b])) this.bestedge[b] = e;
  }

  /** Undoes blossom b: its children become top-level again, relabelled when b was a T blossom mid-stage. */
  private expandBlossom(b: number, endstage: boolean): void {
    const childs = this.blossomchilds[b]!;
    for (const s of childs) {
      this.blossomparent[s] = -1;
      if (s < this.n) this.inblossom[s] = s;
      else if (endstage && this.dualvar[s] === 0) this.expandBlossom(s, endstage);
      else for (const leaf of this.leaves(s)) this.inblossom[leaf] = s;
    }
    if (!endstage && this.label[b] === 2) this.relabelExpanded(b, childs);
    this.label[b] = this.labelend[b] = -1;
    this.blossomchilds[b] = this.blossomendps[b] = null;
    this.blossombase[b] = -1;
    this.blossombestedges[b] = null;
    this.bestedge[b] = -1;
    this.unusedblossoms.push(b);
  }

  /** Relabels the children of an expanded T blossom along the even path from its entry child to its base. */
  private relabelExpanded(b: number, childs: number[]): void {
    const endps = this.blossomendps[b]!;
    const at = (j: number) => childs[(j + childs.length) % childs.length];
    const endp = (j: number) => endps[(j + endps.length) % endps.length];
    const entrychild = this.inblossom[this.endpoint[this.labelend[b] ^ 1]];
    let j = childs.indexOf(entrychild);
    let jstep: number;
    let endptrick: number;
    if (j & 1) {
      j -= childs.length;
      jstep = 1;
      endptrick = 0;
    } else {
      jstep = -1;
      endptrick = 1;
    }
    let p = this.labelend[b];
    while (j !== 0) {
      this.label[this.endpoint[p ^ 1]] = 0;
      this.label[this.endpoint[endp(j - endptrick) ^ endptrick ^ 1]] = 0;
      this.assignLabel(this.endpoint[p ^ 1], 2, p);
      this.allowedge[endp(j - endptrick) >> 1] = 1;
      j += jstep;
      p = endp(j - endptrick) ^ endptrick;
      this.allowedge[p >> 1] = 1;
      j += jstep;
    }
    const bv = at(j);
    this.label[this.endpoint[p ^ 1]] = this.label[bv] = 2;
    this.labelend[this.endpoint[p ^ 1]] = this.labelend[bv] = p;
    this.bestedge[bv] = -1;
    j += jstep;
    while (at(j) !== entrychild) {
      const child = at(j);
      j += jstep;
      if (this.label[child] === 1) continue;
      const labelled = this.leaves(child).find((leaf) => this.label[leaf] !== 0);
      if (labelled !== undefined) {
        this.label[labelled] = 0;
        this.label[this.endpoint[this.mate[this.blossombase[child]]]] = 0;
        this.assignLabel(labelled, 2, this.labelend[labelled]);
      }
    }
  }

  /** Swaps matched and unmatched edges inside blossom b on the path from vertex v to its base; v becomes the base. */
  private augmentBlossom(b: number, v: number): void {
    let t = v;
    while (this.blossomparent[t] !== b) t = this.blossomparent[t];
    if (t >= this.n) this.augmentBlossom(t, v);
    const childs = this.blossomchilds[b]!;
    const endps = this.blossomendps[b]!;
    const at = (j: number) => childs[(j + childs.length) % childs.length];
    const endp = (j: number) => endps[(j + endps.length) % endps.length];
    const i = childs.indexOf(t);
    let j = i;
    let jstep: number;
    let endptrick: number;
    if (i & 1) {
      j -= childs.length;
      jstep = 1;
      endptrick = 0;
    } else {
      jstep = -1;
      endptrick = 1;
    }
    while (j !== 0) {
      j += jstep;
      t = at(j);
      const p = endp(j - endptrick) ^ endptrick;
      if (t >= this.n) this.augmentBlossom(t, this.endpoint[p]);
      j += jstep;
      t = at(j);
      if (t >= this.n) this.augmentBlossom(t, this.endpoint[p ^ 1]);
      this.mate[this.endpoint[p]] = p ^ 1;
      this.mate[this.endpoint[p ^ 1]] = p;
    }
    this.blossomchilds[b] = [...childs.slice(i), ...childs.slice(0, i)];
    this.blossomendps[b] = [...endps.slice(i), ...endps.slice(0, i)];
    this.blossombase[b] = this.blossombase[this.blossomchilds[b]![0]];
  }

  /** Flips the augmenting path through edge k, growing the matching by one edge. */
  private augmentMatching(k: number): void {
    for (let [s, p] of [[this.endpoint[2 * k], 2 * k + 1], [this.endpoint[2 * k + 1], 2 * k]]) {
      for (;;) {
        const bs = this.inblossom[s];
        if (bs >= this.n) this.augmentBlossom(bs, s);
        this.mate[s] = p;
        if (this.labelend[bs] === -1) break;
        const t = this.endpoint[this.labelend[bs]];
        const bt = this.inblossom[t];
        s = this.endpoint[this.labelend[bt]];
        const j = this.endpoint[this.labelend[bt] ^ 1];
        if (bt >= this.n) this.augmentBlossom(bt, j);
        this.mate[j] = this.labelend[bt];
        p = this.labelend[bt] ^ 1;
      }
    }
  }

  /** One stage: grow alternating trees until an augmenting path is found (true) or the optimum is proven (false). */
  private stage(): boolean {
    const { n } = this;
    this.label.fill(0);
    this.bestedge.fill(-1);
    this.blossombestedges.fill(null, n);
    this.allowedge.fill(0);
    this.queue = [];
    for (let v = 0; v < n; v++) if (this.mate[v] === -1 && this.label[this.inblossom[v]] === 0) this.assignLabel(v, 1, -1);
    for (;;) {
      if (this.scanQueue()) break;
      if (!this.updateDuals()) return false;
    }
    // S blossoms whose dual reached zero would block the next stage: expand them now.
    for (let b = n; b < 2 * n; b++) {
      if (this.blossomparent[b] === -1 && this.blossombase[b] >= 0 && this.label[b] === 1 && this.dualvar[b] === 0) this.expandBlossom(b, true);
    }
    return true;
  }

  /** Explores tight edges out of S vertices; true when the matching was augmented. */
  private scanQueue(): boolean {
    while (this.queue.length) {
      const v = this.queue.pop()!;
      for (const p of this.neighbend[v]) {
        const k = p >> 1;
        const w = this.endpoint[p];
        if (this.inblossom[v] === this.inblossom[w]) continue;
        let kslack = 0;
        if (!this.allowedge[k]) {
          kslack = this.slack(k);
          if (kslack <= 0) this.allowedge[k] = 1;
        }
        const bw = this.inblossom[w];
        if (this.allowedge[k]) {
          if (this.label[bw] === 0) this.assignLabel(w, 2, p ^ 1);
          else if (this.label[bw] === 1) {
            const base = this.scanBlossom(v, w);
            if (base >= 0) this.addBlossom(base, k);
            else {
              this.augmentMatching(k);
              return true;
            }
          } else if (this.label[w] === 0) {
            this.label[w] = 2;
            this.labelend[w] = p ^ 1;
          }
        } else if (this.label[bw] === 1) {
          const b = this.inblossom[v];
          if (this.bestedge[b] === -1 || kslack < this.slack(this.bestedge[b])) this.bestedge[b] = k;
        } else if (this.label[w] === 0) {
          if (this.bestedge[w] === -1 || kslack < this.slack(this.bestedge[w])) this.bestedge[w] = k;
        }
      }
    }
    return false;
  }

  /** Changes the duals by the largest step that keeps them feasible; false when the stage is over (optimum reached). */
  private updateDuals(): boolean {
    const { n, label, inblossom, dualvar } = this;
    let deltatype = -1;
    let delta = 0;
    let deltaedge = -1;
    let deltablossom = -1;
    if (!this.maxCardinality) {
      deltatype = 1;
      delta = Math.min(...dualvar.subarray(0, n));
    }
    for (let v = 0; v < n; v++) {
      if (label[inblossom[v]] === 0 && this.bestedge[v] !== -1) {
        const d = this.slack(this.bestedge[v]);
        if (deltatype === -1 || d < delta) [delta, deltatype, deltaedge] = [d, 2, this.bestedge[v]];
      }
    }
    for (let b = 0; b < 2 * n; b++) {
      if (this.blossomparent[b] === -1 && label[b] === 1 && this.bestedge[b] !== -1) {
        const d = this.slack(this.bestedge[b]) / 2;
        if (deltatype === -1 || d < delta) [delta, deltatype, deltaedge] = [d, 3, this.bestedge[b]];
      }
    }
    for (let b = n; b < 2 * n; b++) {
      if (this.blossombase[b] >= 0 && this.blossomparent[b] === -1 && label[b] === 2 && (deltatype === -1 || dualvar[b] < delta)) {
        [delta, deltatype, deltablossom] = [dualvar[b], 4, b];
      }
    }
    if (deltatype === -1) {
      // No further improvement possible with max cardinality: a final change to reach optimum.
      deltatype = 1;
      delta = Math.max(0, Math.min(...dualvar.subarray(0, n)));
    }
    for (let v = 0; v < n; v++) {
      if (label[inblossom[v]] === 1) dualvar[v] -= delta;
      else if (label[inblossom[v]] === 2) dualvar[v] += delta;
    }
    for (let b = n; b < 2 * n; b++) {
      if (this.blossombase[b] >= 0 && this.blossomparent[b] === -1) {
        if (label[b] === 1) dualvar[b] += delta;
        else if (label[b] === 2) dualvar[b] -= delta;
      }
    }
    if (deltatype === 1) return false;
    if (deltatype === 2) {
      this.allowedge[deltaedge] = 1;
      const i = this.endpoint[2 * deltaedge];
      this.queue.push(label[inblossom[i]] === 0 ? this.endpoint[2 * deltaedge + 1] : i);
    } else if (deltatype === 3) {
      this.allowedge[deltaedge] = 1;
      this.queue.push(this.endpoint[2 * deltaedge]);
    } else this.expandBlossom(deltablossom, false);
    return true;
  }
}
