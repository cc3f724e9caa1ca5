// SVG chart of the HTTP benchmark ratios (zonesync ÷ nginx) for docs/benchmarks.md, drawn from the
// markdown table bench/http.ts writes, so the chart and the table can never disagree.
// Plain SVG 1.1 with inline attributes only: GitHub renders it as an image, without scripts or fonts.
// Usage: node bench/charts.ts [--in bench/results/http.md] [--out docs/benchmarks-http.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const WIDTH = 720;
const LEFT = 20;
const RIGHT = WIDTH - 70; // room for the value label after the longest bar
const PLOT_TOP = 80;
const BAR_H = 14;
const BAR_GAP = 3;
const LABEL_H = 18; // scenario name above its bars: names are too long for a left column
const GROUP_H = LABEL_H + 3 * BAR_H + 2 * BAR_GAP + 14;
const CAPTION_CHARS = 110; // ~5.5 px per character at 10 px sans-serif fits in 680 px

const METRICS = [
  { column: 'req/s ratio', label: 'req/s ratio (higher is better)', color: '#4e79a7' },
  { column: 'CPU ratio', label: 'CPU/req ratio (lower is better)', color: '#f28e2b' },
  { column: 'p99 ratio', label: 'p99 ratio (lower is better)', color: '#59a14f' },
];

interface Row {
  scenario: string;
  values: number[];
}

const escapeXml = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** One decimal keeps the file small and byte-stable across runs. */
const n = (x: number): string => String(Math.round(x * 10) / 10);

const text = (x: number, y: number, s: string, attrs = ''): string =>
  `<text x="${n(x)}" y="${n(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;

/** Zonesync rows and the run description (first non-table line); malformed rows are skipped. */
function parse(markdown: string): { caption: string; rows: Row[] } {
  const lines = markdown.split('\n').map((l) => l.trim());
  const caption = lines.find((l) => l !== '' && !l.startsWith('|')) ?? '';
  const cells = (l: string) =>
    l
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
  const table = lines.filter((l) => l.startsWith('|')).map(cells);
  // Columns by header name, so added or reordered columns in bench/http.ts don't shift the chart.
  const header = table.find((r) => r.includes('scenario') && r.includes('server')) ?? [];
  const col = (name: string, fallback: number) => (header.includes(name) ? header.indexOf(name) : fallback);
  const [scenarioCol, serverCol] = [col('scenario', 0), col('server', 1)];
  const metricCols = METRICS.map((m, i) => col(m.column, 5 + i));
  const rows: Row[] = [];
  for (const r of table) {
    if (r[serverCol] !== 'zonesync' || !r[scenarioCol]) continue;
    const values = metricCols.map((c) => (r[c] === undefined || r[c] === '' ? Number.NaN : Number(r[c])));
    if (values.every((v) => Number.isFinite(v) && v >= 0)) rows.push({ scenario: r[scenarioCol], values });
  }
  return { caption, rows };
}

/** Greedy word wrap: the run description is one long line, wider than the chart. */
function wrap(s: string, max: number): string[] {
  const out: string[] = [];
  for (const word of s.split(/\s+/).filter(Boolean)) {
    const last = out.length - 1;
    if (last >= 0 && out[last].length + 1 + word.length <= max) out[last] += ` ${word}`;
    else out.push(word);
  }
  return out;
}

export function ratioChartSvg(tableMarkdown: string, title: string): string {
  const { caption, rows } = parse(tableMarkdown);
  const captionLines = wrap(caption, CAPTION_CHARS);
  const plotBottom = PLOT_TOP + Math.max(rows.length, 1) * GROUP_H;
  const height = plotBottom + 30 + captionLines.length * 13 + 8;
  const largest = Math.max(0, ...rows.flatMap((r) => r.values));
  const max = Math.max(2.5, Math.ceil(largest * 2) / 2);
  const xOf = (v: number) => LEFT + (v / max) * (RIGHT - LEFT);

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${WIDTH}" height="${height}" ` +
      `viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12" fill="#24292f">`,
    // Opaque background: GitHub's dark mode would otherwise put dark text on a dark page.
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(LEFT, 28, title, 'font-size="16" font-weight="bold"'),
  ];
  if (rows.length === 0) {
    out.push(text(WIDTH / 2, PLOT_TOP + GROUP_H / 2, 'no results', 'text-anchor="middle" fill="#57606a"'));
  } else {
    let lx = LEFT;
    for (const m of METRICS) {
      out.push(`<rect x="${n(lx)}" y="41" width="12" height="12" fill="${m.color}"/>`);
      out.push(text(lx + 17, 51, m.label, 'font-size="11"'));
      lx += 17 + m.label.length * 6 + 18;
    }
    // Grid every 0.5x, tick labels under the plot.
    for (let v = 0; v <= max + 1e-9; v += 0.5) {
      out.push(
        `<line x1="${n(xOf(v))}" y1="${PLOT_TOP}" x2="${n(xOf(v))}" y2="${plotBottom}" stroke="#d8dee4"/>`,
      );
      out.push(text(xOf(v), plotBottom + 14, `${v}x`, 'font-size="10" text-anchor="middle" fill="#57606a"'));
    }
    const names: string[] = [];
    rows.forEach((r, i) => {
      const top = PLOT_TOP + i * GROUP_H + 6;
      names.push(
        // Over the reference line, on a white patch; its width is a generous estimate (7.5 px per
        // bold character), harmless as the name's row holds no bars.
        `<rect x="${LEFT - 2}" y="${n(top)}" width="${n(r.scenario.length * 7.5 + 4)}" height="16" fill="#ffffff"/>`,
        text(LEFT, top + 12, r.scenario, 'font-weight="bold"'),
      );
      r.values.forEach((v, j) => {
        const y = top + LABEL_H + j * (BAR_H + BAR_GAP);
        const label = `${v.toFixed(2)}x`;
        out.push(
          `<rect x="${LEFT}" y="${n(y)}" width="${n(xOf(v) - LEFT)}" height="${BAR_H}" fill="${METRICS[j].color}">` +
            `<title>${escapeXml(`${r.scenario}: ${METRICS[j].column} ${label}`)}</title></rect>`,
        );
        out.push(text(xOf(v) + 4, y + BAR_H - 3, label, 'font-size="11"'));
      });
    });
    // After the bars so they don't hide it: nginx is 1.0x by definition.
    const x1 = n(xOf(1));
    out.push(
      `<line x1="${x1}" y1="${PLOT_TOP - 2}" x2="${x1}" y2="${plotBottom}" stroke="#24292f" stroke-width="1.5" stroke-dasharray="4 3"/>`,
    );
    out.push(text(xOf(1), PLOT_TOP - 6, 'nginx', 'font-size="11" text-anchor="middle"'), ...names);
  }
  captionLines.forEach((l, i) => {
    out.push(text(LEFT, plotBottom + 36 + i * 13, l, 'font-size="10" fill="#57606a"'));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      in: { type: 'string', default: 'bench/results/http.md' },
      out: { type: 'string', default: 'docs/benchmarks-http.svg' },
    },
  });
  const svg = ratioChartSvg(readFileSync(values.in, 'utf8'), 'HTTP: zonesync ÷ nginx (1.0x = nginx)');
  writeFileSync(values.out, svg);
  console.log(`wrote ${values.out}`);
}
