// What Grafana would send Prometheus for a dashboard target, and how it names the series that come back.

/** Grafana's $__rate_interval: at least four scrapes, and at least one step plus one scrape. */
export function rateInterval(stepSeconds, scrapeSeconds) {
  return Math.max(stepSeconds + scrapeSeconds, 4 * scrapeSeconds);
}

/**
 * The expression with Grafana's variables replaced: `$job` by the variable's "All" value (every
 * service), `$__rate_interval`, `$__interval` and `$__range` by durations in seconds.
 */
export function expandVariables(expr, { variables, stepSeconds, scrapeSeconds, rangeSeconds }) {
  const builtIns = {
    __rate_interval: `${rateInterval(stepSeconds, scrapeSeconds)}s`,
    __interval: `${stepSeconds}s`,
    __range: `${Math.round(rangeSeconds)}s`,
  };
  const replace = (_whole, name) => {
    if (name in builtIns) return builtIns[name];
    if (name in variables) return variables[name];
    throw new Error(`unknown dashboard variable $${name} in ${expr}`);
  };
  return expr
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}/g, replace)
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, replace);
}

/** A dashboard's template variables at "All": the allValue where it has one, else a match-all regex. */
export function allValues(dashboard) {
  const values = {};
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type === 'datasource') continue;
    values[variable.name] = variable.allValue ?? '.*';
  }
  return values;
}

/** Grafana's legend format: `{{label}}` becomes the series' label value (empty when it has none). */
export function legendName(format, labels) {
  if (!format) {
    const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    return `{${pairs.join(', ')}}`;
  }
  return format
    .replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_whole, key) => labels[key] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The metric names an expression selects: every dashboard query names its series with a selector. */
export function selectedMetrics(expr) {
  return [...new Set([...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)].map((match) => match[1]))];
}

/** The dashboard's panels in reading order, rows included, nested rows' panels flattened. */
export function flattenPanels(panels) {
  return panels
    .flatMap((panel) => [panel, ...flattenPanels(panel.panels ?? [])])
    .sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
}
