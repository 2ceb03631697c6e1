/**
 * The benchmark's chart: one panel of horizontal bars per case, every driver that ran with its
 * figure at the end of its bar, a scale with ticks and the unit under each panel, aiofs in one
 * colour and the baselines (Node, fio) in others. Plain SVG, written by hand: no dependency.
 */
import type { Case, Row } from './case.js';
import { formatRate } from './format.js';

const WIDTH = 960;
const LABEL = 330; // room for driver labels
const RIGHT = 110; // room for the figure after the longest bar
const BAR = 18;
const GAP = 6;
const TITLE = 28;
const AXIS = 34;

function escape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

function colour(driver: string): string {
  if (driver.startsWith('aiofs')) return '#1f77b4';
  if (driver.startsWith('fio')) return '#7f7f7f';
  return '#ff7f0e';
}

/** A round step giving about four ticks up to `max`. */
function tickStep(max: number): number {
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((step) => step >= rough)!;
}

function panel(c: Case, rows: Row[], top: number): { svg: string; height: number } {
  const measured = rows.filter((r) => r.rate !== undefined);
  const max = Math.max(...measured.map((r) => r.rate!), 1);
  const step = tickStep(max);
  const scaleMax = Math.ceil(max / step) * step;
  const plotWidth = WIDTH - LABEL - RIGHT;
  const x = (value: number) => LABEL + (value / scaleMax) * plotWidth;
  const parts: string[] = [];
  parts.push(`<text x="10" y="${top + 18}" font-size="15" font-weight="bold">${escape(`${c.title} (${c.name})`)}</text>`);
  let y = top + TITLE;
  for (const row of rows) {
    parts.push(`<text x="${LABEL - 8}" y="${y + BAR - 5}" font-size="12" text-anchor="end">${escape(row.label)}</text>`);
    if (row.rate === undefined) {
      parts.push(`<text x="${LABEL + 4}" y="${y + BAR - 5}" font-size="12" fill="#999">n/a</text>`);
    } else {
      const width = Math.max(1, x(row.rate) - LABEL);
      parts.push(`<rect x="${LABEL}" y="${y}" width="${width.toFixed(1)}" height="${BAR}" fill="${colour(row.driver)}"/>`);
      parts.push(`<text x="${(LABEL + width + 5).toFixed(1)}" y="${y + BAR - 5}" font-size="12">${escape(formatRate(row.rate))}</text>`);
    }
    y += BAR + GAP;
  }
  parts.push(`<line x1="${LABEL}" y1="${top + TITLE - 3}" x2="${LABEL}" y2="${y}" stroke="#333"/>`);
  parts.push(`<line x1="${LABEL}" y1="${y}" x2="${LABEL + plotWidth}" y2="${y}" stroke="#333"/>`);
  for (let value = 0; value <= scaleMax + step / 2; value += step) {
    const tx = x(value).toFixed(1);
    parts.push(`<line x1="${tx}" y1="${y}" x2="${tx}" y2="${y + 4}" stroke="#333"/>`);
    parts.push(`<text x="${tx}" y="${y + 16}" font-size="11" text-anchor="middle">${escape(formatRate(value).replace(/\.0+ /, " "))}</text>`);
  }
  parts.push(`<text x="${LABEL + plotWidth / 2}" y="${y + 30}" font-size="12" text-anchor="middle">${escape(c.unit)} (${c.lowerIsBetter ? 'lower' : 'higher'} is better)</text>`);
  return { svg: parts.join('\n'), height: y + AXIS + 14 - top };
}

/** The whole chart for `results`, with the machine it ran on as a subtitle. */
export function svgChart(results: { case: Case; rows: Row[] }[], machine: Record<string, string>): string {
  const panels: string[] = [];
  let top = 46;
  for (const { case: c, rows } of results) {
    const { svg, height } = panel(c, rows, top);
    panels.push(svg);
    top += height;
  }
  const subtitle = `Node ${machine.node}, kernel ${machine.kernel}, ${machine.cpus}; aiofs in blue, node:fs in orange, fio in grey`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" viewBox="0 0 ${WIDTH} ${top}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="18" font-weight="bold">aiofs bench</text>`,
    `<text x="10" y="38" font-size="11" fill="#555">${escape(subtitle)}</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
