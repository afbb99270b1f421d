import { escapeHtml } from './escape.js';

/** Everything the page shows is in this file: no scripts, fonts or styles from the network. */
const STYLE = `
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9dee3; --before: #a3acb9; --after: #2563eb; --train: #d97706; --val: #2563eb; --pair: #e11d48; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1040px; margin: 0 auto; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-top: 12px; border-top: 1px solid var(--line); }
p.sub, .note { color: var(--muted); margin: 4px 0 12px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 10px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .d { color: var(--muted); font-size: 12px; }
.card.warn { border-color: #f59e0b; background: #fffbeb; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 8px 0; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.kept td { color: var(--muted); }
tr.chosen td { background: #eff6ff; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { max-width: 100%; height: auto; font-size: 11px; }
svg .grid { stroke: #eef0f2; }
svg .baseline { stroke: var(--line); }
svg .tick, svg .value { fill: var(--muted); }
svg .label { fill: var(--ink); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 10.5px; }
svg .axis-label, svg .legend { fill: var(--ink); }
svg .bar.before { fill: var(--before); }
svg .bar.after { fill: var(--after); }
svg .bar.score { fill: var(--after); }
svg .bar.seconds { fill: #0f766e; }
svg .bar-row.kept .bar.after, svg .bar-row.kept .bar.score { fill: #93b4f5; }
svg .line { fill: none; stroke-width: 2; }
svg .line.train { stroke: var(--train); }
svg .line.validation { stroke: var(--val); }
svg .point.train { fill: var(--train); }
svg .point.validation { fill: var(--val); }
svg .cell.self { fill: #e5e7eb; }
svg .pair { fill: none; stroke: var(--pair); stroke-width: 1.5; }
`;

/** A complete, self-contained HTML document. */
export function htmlDocument(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ftm-compress">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}

/** A headline number: its label, the value as shown, the raw value for machines (data-value), and a detail line. */
export function card(field: string, label: string, shown: string, raw: number | string | null, detail = '', warn = false): string {
  return (
    `<div class="card${warn ? ' warn' : ''}" data-field="${field}" data-value="${raw === null ? '' : escapeHtml(raw)}">` +
    `<div class="k">${escapeHtml(label)}</div><div class="v">${escapeHtml(shown)}</div>${detail ? `<div class="d">${escapeHtml(detail)}</div>` : ''}</div>`
  );
}
