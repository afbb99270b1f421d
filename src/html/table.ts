import { escapeHtml } from './escape.js';

/** A table cell: text (escaped here), or markup the caller built from escaped parts. */
export type Cell = string | number | { html: string };

export interface TableOptions {
  id: string;
  header: readonly string[];
  rows: readonly (readonly Cell[])[];
  /** Columns drawn right-aligned (numbers). */
  numeric?: readonly number[];
  /** An extra CSS class per row. */
  rowClass?: (row: number) => string;
}

export function htmlTable(o: TableOptions): string {
  const align = (k: number) => (o.numeric?.includes(k) ? ' class="num"' : '');
  const cell = (c: Cell) => (typeof c === 'object' ? c.html : escapeHtml(c));
  const head = o.header.map((h, k) => `<th${align(k)}>${escapeHtml(h)}</th>`).join('');
  const body = o.rows.map((r, i) => `<tr class="${o.rowClass?.(i) ?? ''}">${r.map((c, k) => `<td${align(k)}>${cell(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table id="${o.id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
