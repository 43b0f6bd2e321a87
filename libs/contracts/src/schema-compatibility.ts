/**
 * Decides whether a topic's new JSON Schema can replace the old one on the same topic. Both producers
 * and consumers validate, so the only safe change is a new optional property; anything else (a removed
 * or renamed field, a new required field, a changed type, enum or pattern) needs a new topic version.
 */
type JsonSchema = { [keyword: string]: unknown };

const isObject = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function schemaChangeProblems(before: unknown, after: unknown, path = '$'): string[] {
  if (!isObject(before) || !isObject(after)) {
    return canonical(before) === canonical(after)
      ? []
      : [`${path}: changed from ${canonical(before)} to ${canonical(after)}`];
  }
  const problems: string[] = [];
  const keywords = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const keyword of keywords) {
    const old = before[keyword];
    const now = after[keyword];
    if (keyword === 'properties' && isObject(old) && isObject(now)) {
      for (const name of Object.keys(old)) {
        if (!(name in now)) problems.push(`${path}.${name}: removed`);
        else problems.push(...schemaChangeProblems(old[name], now[name], `${path}.${name}`));
      }
      continue;
    }
    if (keyword === 'required') {
      const oldRequired = new Set(Array.isArray(old) ? (old as string[]) : []);
      const newRequired = new Set(Array.isArray(now) ? (now as string[]) : []);
      for (const name of newRequired)
        if (!oldRequired.has(name)) problems.push(`${path}.${name}: became required`);
      for (const name of oldRequired)
        if (!newRequired.has(name)) problems.push(`${path}.${name}: no longer required`);
      continue;
    }
    if (
      (keyword === 'anyOf' || keyword === 'oneOf' || keyword === 'allOf') &&
      Array.isArray(old) &&
      Array.isArray(now)
    ) {
      if (old.length !== now.length)
        problems.push(`${path}: ${keyword} went from ${old.length} to ${now.length} branches`);
      else
        old.forEach((branch, i) =>
          problems.push(...schemaChangeProblems(branch, now[i], `${path}.${keyword}[${i}]`)),
        );
      continue;
    }
    if (keyword === 'items' || keyword === 'additionalProperties') {
      problems.push(...schemaChangeProblems(old, now, `${path}.${keyword}`));
      continue;
    }
    if (keyword === 'description' || keyword === '$schema') continue;
    if (canonical(old) !== canonical(now)) {
      problems.push(`${path}: ${keyword} changed from ${canonical(old)} to ${canonical(now)}`);
    }
  }
  return problems;
}
