import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METRICS, exportedSeriesNames, prometheusSeries } from '@meterkeep/observability';

// The alert rules and the dashboard in deploy/observability may name only metrics the services export:
// the list is libs/observability's catalogue, which the instruments are created from.
const root = resolve(__dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression selects (not its functions, labels, values or durations). */
export function metricNamesIn(expression: string): string[] {
  const text = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/'(?:[^'\\]|\\.)*'/g, "''")
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const [name] = match;
    const before = text[match.index - 1];
    const after = text.slice(match.index + name.length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(name.toLowerCase()) || (before && /[0-9.$]/.test(before)))
      continue;
    names.push(name);
  }
  return names;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
}

const rules = (
  parse(read('deploy/observability/prometheus-rules.yaml')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((group) => group.rules);

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  fieldConfig?: { defaults?: { unit?: string } };
  panels?: Panel[];
}
const dashboard = JSON.parse(read('deploy/observability/grafana-dashboard.json')) as {
  panels: Panel[];
  templating: { list: { name: string; query?: string | { query?: string } }[] };
};
const panels = (list: Panel[]): Panel[] => list.flatMap((panel) => [panel, ...panels(panel.panels ?? [])]);
const dashboardQueries: { where: string; expr: string }[] = [
  ...panels(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr ?? '' })),
  ),
  ...dashboard.templating.list.flatMap((variable) => {
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const selected = query && /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(query);
    return selected ? [{ where: `variable $${variable.name}`, expr: selected[1]! }] : [];
  }),
];

describe('metricNamesIn (the guard below)', () => {
  it('finds the series, not functions, label names, label values or durations', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (job, le) (rate(http_server_request_duration_bucket{http_route!="x_total"}[5m])))',
      ),
    ).toEqual(['http_server_request_duration_bucket']);
    expect(
      metricNamesIn(
        'sum(rate(a_total[5m] offset 1h)) / ignoring (code) group_left sum by (job) (b_count) > 0.5 and c > 1e3',
      ),
    ).toEqual(['a_total', 'b_count', 'c']);
    expect(metricNamesIn('max by (job) (nonexistent_metric{job=~"$job"}[$__rate_interval])')).toEqual([
      'nonexistent_metric',
    ]);
  });
});

describe('deploy/observability', () => {
  const exported = exportedSeriesNames();

  it('alert rules: each has a name, a severity and an expression naming only exported metrics', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Meterkeep[A-Za-z0-9]+$/);
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning|info)$/);
      const names = metricNamesIn(rule.expr);
      expect(names.length, `${rule.alert} names no metric`).toBeGreaterThan(0);
      for (const name of names)
        expect(exported.has(name), `${rule.alert}: ${name} is not exported`).toBe(true);
    }
  });

  it('alerts on the error ratio, p99 latency, consumer lag, outbox backlog, dead letters and 503s', () => {
    const named = new Set(rules.flatMap((rule) => metricNamesIn(rule.expr)));
    for (const name of [
      'http_server_request_duration_count',
      'http_server_request_duration_bucket',
      'meterkeep_kafka_consumer_lag',
      'meterkeep_outbox_oldest_age',
      'meterkeep_kafka_dead_letters_total',
      'meterkeep_http_overload_answers_total',
    ])
      expect(named.has(name), name).toBe(true);
  });

  it('dashboard: every query names only exported metrics', () => {
    expect(dashboardQueries.length).toBeGreaterThan(10);
    for (const { where, expr } of dashboardQueries) {
      const names = metricNamesIn(expr);
      expect(names.length, `${where} names no metric`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${where}: ${name} is not exported`).toBe(true);
    }
  });

  // Readiness answers 503 while a service starts or drains: probes are no clients' errors.
  it('the 5xx error ratio (alert rule and dashboard) leaves the health routes out', () => {
    const errorRatios = [
      ...rules.filter((rule) => rule.alert === 'MeterkeepHighErrorRatio').map((rule) => rule.expr),
      ...dashboardQueries.filter(({ expr }) => expr.includes('=~"5.."')).map(({ expr }) => expr),
    ];
    expect(errorRatios).toHaveLength(2);
    for (const expr of errorRatios) {
      const selectors = [...expr.matchAll(/http_server_request_duration_count\{([^}]*)\}/g)];
      // The dashboard's ratio adds `or 0 * <all>` so a run without 5xx draws 0, not "no data".
      expect(selectors.length, expr).toBeGreaterThanOrEqual(2);
      for (const [, labels] of selectors) expect(labels, expr).toContain('http_route!~"/health/.*"');
    }
  });

  it('dashboard: each panel draws metrics of one unit (no seconds beside a share or a count)', () => {
    const unitOf = new Map(
      Object.values(METRICS).flatMap((definition) =>
        prometheusSeries(definition).map((series) => [series, definition.unit] as const),
      ),
    );
    for (const panel of panels(dashboard.panels)) {
      const units = new Set(
        (panel.targets ?? []).flatMap(({ expr }) =>
          metricNamesIn(expr ?? '').map((name) => unitOf.get(name)),
        ),
      );
      expect([...units], `panel "${panel.title}"`).toHaveLength(units.size === 0 ? 0 : 1);
    }
  });

  it('dashboard: the heap limit is drawn only as what the heap used is a share of, not as a line of GiB', () => {
    const withLimit = panels(dashboard.panels).filter((panel) =>
      (panel.targets ?? []).some(({ expr }) => metricNamesIn(expr ?? '').includes('v8js_memory_heap_limit')),
    );
    expect(withLimit.length).toBeGreaterThan(0);
    for (const panel of withLimit) {
      expect(panel.fieldConfig?.defaults?.unit, panel.title).toBe('percentunit');
      for (const { expr } of panel.targets ?? [])
        expect(metricNamesIn(expr ?? ''), panel.title).toEqual([
          'v8js_memory_heap_used',
          'v8js_memory_heap_limit',
        ]);
    }
  });

  it('dashboard: shows every metric of the catalogue', () => {
    const shown = new Set(dashboardQueries.flatMap(({ expr }) => metricNamesIn(expr)));
    const missing = Object.values(METRICS)
      .filter((definition) => !prometheusSeries(definition).some((series) => shown.has(series)))
      .map((definition) => definition.name);
    expect(missing).toEqual([]);
  });
});
