// An HTML page that lays the dashboard's panels out by their gridPos, as Grafana does (24 columns),
// each a plain SVG line chart of what its queries returned: title, y axis in the panel's unit, time
// axis in UTC, legend. Not Grafana: no tooltips, no stacking, no thresholds.

const COLUMNS = 24;
const ROW_PX = 34; // Grafana's grid row is 30 px; a little more leaves room for the legends
const GAP = 8;
// Grafana's dark theme, roughly.
const THEME = {
  page: '#111217',
  panel: '#181b1f',
  border: '#2a2d33',
  text: '#ccccdc',
  heading: '#e0e0ea',
  title: '#d8d9e0',
  axis: '#9fa1ab',
  muted: '#8e8ea0',
};
// Grafana's classic palette.
const COLORS = [
  '#7EB26D',
  '#EAB839',
  '#6ED0E0',
  '#EF843C',
  '#E24D42',
  '#1F78C1',
  '#BA43A9',
  '#705DA0',
  '#508642',
  '#CCA300',
  '#447EBC',
  '#C15C17',
  '#890F02',
  '#0A437C',
  '#6D1F62',
  '#584477',
  '#B7DBAB',
  '#F4D598',
  '#70DBED',
  '#F9BA8F',
  '#F29191',
  '#82B5D8',
  '#E5A8E2',
  '#AEA2E0',
];

const escape = (text) =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );

/** A number with at most `digits` decimals, trailing zeros dropped. */
const trim = (value, digits) => String(Number(value.toFixed(digits)));

function scaled(value, steps, digits) {
  let i = 0;
  while (i < steps.length - 1 && Math.abs(value) >= steps[i + 1][0]) i++;
  const [factor, suffix] = steps[i];
  return `${trim(value / factor, digits)}${suffix}`;
}

const SI = [
  [1, ''],
  [1e3, 'K'],
  [1e6, 'M'],
  [1e9, 'G'],
];
const SECONDS = [
  [1e-6, ' µs'],
  [1e-3, ' ms'],
  [1, ' s'],
  [60, ' min'],
  [3600, ' h'],
];
const BYTES = [
  [1, ' B'],
  [1024, ' KiB'],
  [1024 ** 2, ' MiB'],
  [1024 ** 3, ' GiB'],
];

/** A value in a Grafana unit, as an axis label or a legend figure. */
export function formatValue(value, unit, digits = 2) {
  if (value === 0) return unit === 'percentunit' ? '0%' : '0';
  switch (unit) {
    case 'percentunit':
      return `${trim(value * 100, digits)}%`;
    case 's':
      return scaled(value, SECONDS, digits);
    case 'bytes':
      return scaled(value, BYTES, digits);
    case 'reqps':
      return `${scaled(value, SI, digits)} req/s`;
    case 'ops':
      return `${scaled(value, SI, digits)} ops/s`;
    default:
      return scaled(value, SI, digits);
  }
}

/** Round axis bounds and ticks covering 0..max. */
function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1 / 4, 2 / 4, 3 / 4, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(v);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

/** Time ticks (UTC, as the dashboard's timezone) with labels: seconds shown only when ticks need them. */
function timeTicks(start, end) {
  const span = end - start;
  const step =
    [15, 30, 60, 120, 300, 600, 900, 1800, 3600].map((s) => s * 1000).find((s) => span / s <= 7) ?? 7200_000;
  const clock = (ms) => new Date(ms).toISOString().slice(11, step < 60_000 ? 19 : 16);
  const ticks = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) ticks.push([t, clock(t)]);
  return ticks;
}

/** The SVG polyline paths of one series, broken where scrapes are missing. */
function paths(points, x, y, stepMs) {
  const segments = [];
  let current = [];
  let last;
  for (const [t, v] of points) {
    if (!Number.isFinite(v) || (last !== undefined && t - last > stepMs * 1.5)) {
      if (current.length) segments.push(current);
      current = [];
    }
    if (Number.isFinite(v)) current.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    last = t;
  }
  if (current.length) segments.push(current);
  return segments;
}

function chart(panel, { start, end, stepMs, width, height }) {
  const unit = panel.unit;
  const finite = panel.series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  const max = finite.length ? Math.max(...finite) : 0;
  // Bytes step in powers of 1024 (1 GiB, 2 GiB…), not of 10.
  const factor = unit === 'bytes' && max > 0 ? 1024 ** Math.floor(Math.log(max) / Math.log(1024)) : 1;
  const ticks = niceTicks((unit === 'percentunit' && max === 0 ? 0.01 : max) / factor).map((t) => t * factor);
  const top = ticks[ticks.length - 1];
  const labels = ticks.map((t) => formatValue(t, unit, 3));
  const left = Math.round(Math.max(...labels.map((l) => l.length)) * 6.2 + 10);
  const plot = { x0: left, x1: width - 8, y0: 6, y1: height - 18 };
  const x = (t) => plot.x0 + ((t - start) / (end - start)) * (plot.x1 - plot.x0);
  const y = (v) => plot.y1 - (v / top) * (plot.y1 - plot.y0);
  // Grid lines on pixel centres: sharp, and the PNG smaller.
  const px = (v) => Math.round(v) + 0.5;
  const out = [`<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`];
  ticks.forEach((t, i) => {
    out.push(`<line x1="${plot.x0}" x2="${plot.x1}" y1="${px(y(t))}" y2="${px(y(t))}" class="grid"/>`);
    out.push(`<text x="${plot.x0 - 6}" y="${y(t) + 3.5}" text-anchor="end">${escape(labels[i])}</text>`);
  });
  for (const [t, label] of timeTicks(start, end)) {
    out.push(`<line x1="${px(x(t))}" x2="${px(x(t))}" y1="${plot.y0}" y2="${plot.y1}" class="grid"/>`);
    out.push(`<text x="${x(t)}" y="${height - 4}" text-anchor="middle">${label}</text>`);
  }
  panel.series.forEach((series, i) => {
    for (const segment of paths(series.points, x, y, stepMs)) {
      const color = COLORS[i % COLORS.length];
      if (segment.length === 1) {
        const [cx, cy] = segment[0].split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="1.6" fill="${color}"/>`);
      } else out.push(`<polyline points="${segment.join(' ')}" stroke="${color}"/>`);
    }
  });
  out.push('</svg>');
  return out.join('');
}

function legend(panel, lines) {
  // Busiest first, so what the chart shows most is named when not every series fits.
  const ranked = panel.series
    .map((series, i) => ({
      ...series,
      color: COLORS[i % COLORS.length],
      peak: Math.max(0, ...series.points.map(([, v]) => v).filter(Number.isFinite)),
    }))
    .sort((a, b) => b.peak - a.peak);
  const room = lines * 2; // two columns
  const shown = ranked.length > room ? ranked.slice(0, room - 1) : ranked;
  const items = shown.map(
    (s) =>
      `<li><i style="background:${s.color}"></i><span class="name">${escape(s.name)}</span><span class="peak">max ${escape(formatValue(s.peak, panel.unit))}</span></li>`,
  );
  if (shown.length < ranked.length)
    items.push(`<li class="more">+ ${ranked.length - shown.length} more series</li>`);
  return `<ul class="legend">${items.join('')}</ul>`;
}

/** Every colour the page is drawn with (antialiasing aside). */
export const PAGE_COLORS = [...Object.values(THEME), ...COLORS];

/** The whole page: a header saying what this is, then every panel at its place in the grid. */
export function renderPage({ dashboard, panels, start, end, stepMs, width, subtitle }) {
  const cell = (width - GAP) / COLUMNS;
  const header = 46;
  const bottom = Math.max(...panels.map((p) => p.gridPos.y + p.gridPos.h));
  const height = header + bottom * ROW_PX + GAP;
  const boxes = panels.map((panel) => {
    const { x, y, w, h } = panel.gridPos;
    const left = Math.round(GAP + x * cell);
    const box = {
      left,
      top: header + y * ROW_PX,
      width: Math.round(GAP + (x + w) * cell) - GAP - left,
      height: h * ROW_PX - GAP,
    };
    const style = `left:${box.left}px;top:${box.top}px;width:${box.width}px;height:${box.height}px`;
    if (panel.type === 'row') return `<div class="row" style="${style}">${escape(panel.title)}</div>`;
    const legendLines = Math.min(4, Math.ceil(panel.series.length / 2));
    const legendPx = legendLines * 15 + (legendLines ? 6 : 0);
    const chartHeight = box.height - 28 - legendPx;
    const body = panel.series.length
      ? chart(panel, { start, end, stepMs, width: box.width - 12, height: chartHeight }) +
        legend(panel, legendLines)
      : `<div class="empty">No data<br><small>${escape(panel.notes.join('; '))}</small></div>`;
    return `<div class="panel" style="${style}"><h2>${escape(panel.title)}</h2>${body}</div>`;
  });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escape(dashboard.title)}</title><style>
body { margin: 0; background: ${THEME.page}; color: ${THEME.text}; font: 12px/1.25 'DejaVu Sans', Arial, sans-serif; }
.page { position: relative; width: ${width}px; height: ${height}px; }
.top { position: absolute; left: ${GAP}px; top: 10px; right: ${GAP}px; display: flex; align-items: baseline; gap: 14px; }
.top h1 { margin: 0; font-size: 18px; font-weight: 500; color: ${THEME.heading}; white-space: nowrap; }
.top span { color: ${THEME.muted}; font-size: 12px; }
.panel, .row { position: absolute; box-sizing: border-box; }
.panel { background: ${THEME.panel}; border: 1px solid ${THEME.border}; border-radius: 2px; padding: 4px 6px; overflow: hidden; }
.panel h2 { margin: 0 0 2px; height: 20px; font-size: 13px; font-weight: 500; color: ${THEME.title}; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.row { font-size: 15px; font-weight: 500; color: ${THEME.title}; padding-top: 8px; border-bottom: 1px solid ${THEME.border}; }
svg { display: block; }
svg text { fill: ${THEME.axis}; font-size: 10px; }
svg .grid { stroke: ${THEME.border}; stroke-width: 1; }
svg polyline { fill: none; stroke-width: 1.4; stroke-linejoin: round; }
.legend { list-style: none; margin: 4px 0 0; padding: 0; columns: 2; column-gap: 14px; }
.legend li { display: flex; align-items: center; height: 15px; font-size: 10.5px; white-space: nowrap; overflow: hidden; break-inside: avoid; }
.legend i { flex: none; width: 12px; height: 3px; margin-right: 5px; border-radius: 1px; }
.legend .name { overflow: hidden; text-overflow: ellipsis; }
.legend .peak { flex: none; margin-left: 6px; color: ${THEME.muted}; }
.legend .more { color: ${THEME.muted}; }
.empty { display: flex; flex-direction: column; justify-content: center; align-items: center; height: calc(100% - 28px); color: ${THEME.muted}; font-size: 14px; text-align: center; }
.empty small { font-size: 11px; margin-top: 4px; max-width: 90%; }
</style></head><body><div class="page">
<div class="top"><h1>${escape(dashboard.title)}</h1><span>${escape(subtitle)}</span></div>
${boxes.join('\n')}
</div></body></html>
`;
}
