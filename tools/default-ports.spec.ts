import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS } from '@meterkeep/config';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The rows of the first Markdown table after the text `marker` (a heading, a sentence), as cell texts. */
function tableAfter(markdown: string, marker: string): string[][] {
  const from = markdown.indexOf(marker);
  if (from < 0) throw new Error(`no "${marker}"`);
  const lines = markdown.slice(from).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  // Drop the header and the separator.
  return rows.slice(2);
}

/** The row whose first cell names `component`, as one text. */
function row(rows: string[][], component: RegExp): string {
  const found = rows.find(([first]) => component.test(first!));
  if (!found) throw new Error(`no row for ${component}`);
  return found.join(' | ');
}

const ports = (text: string) => [...text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));

const { stack, services, deviceListeners } = DEFAULT_PORTS;
const stackRows: [RegExp, number[]][] = [
  [/Kafka/, [stack.kafka]],
  [/S3/, [stack.s3]],
  [/PostgreSQL/, [stack.postgres]],
  [/Redis/, [stack.redis]],
];

describe('the README tables of default ports', () => {
  it("README.md's local-stack table states DEFAULT_PORTS.stack", () => {
    const rows = tableAfter(read('README.md'), '\n## The local stack\n');
    for (const [component, expected] of stackRows)
      expect(ports(row(rows, component)), String(component)).toEqual(expected);
    expect(rows).toHaveLength(stackRows.length);
  });

  it("deploy/local/README.md's tables state DEFAULT_PORTS (stack, services, device listeners)", () => {
    const readme = read('deploy/local/README.md');
    const rows = tableAfter(readme, '\n## Ports and variables\n');
    for (const [component, expected] of stackRows) {
      const wanted = component.source === 'Kafka' ? [stack.kafka, stack.kafkaController] : expected;
      expect(ports(row(rows, component)), String(component)).toEqual(wanted);
    }
    const serviceRows = tableAfter(readme, 'The services run on the machine');
    const stated = Object.fromEntries(
      serviceRows.map(([name, http, device]) => [
        name,
        [Number(http), Number.parseInt(device!, 10) || undefined],
      ]),
    );
    expect(stated).toEqual(
      Object.fromEntries(
        Object.entries(services).map(([name, port]) => [
          name,
          [port, (deviceListeners as Record<string, number>)[name]],
        ]),
      ),
    );
  });
});

describe("the services' config defaults", () => {
  // Imported by a computed path: this test reads the apps' configuration, no code depends on the apps.
  const config = (name: string) =>
    import(join(root, 'apps', name, 'src', 'config.ts')) as Promise<Record<string, unknown>>;

  it.each(Object.keys(services))('%s listens on its DEFAULT_PORTS entries by default', async (name) => {
    const module = await config(name);
    expect(module.DEFAULT_PORT).toBe(services[name as keyof typeof services]);
    const device = (deviceListeners as Record<string, number>)[name];
    if (name === 'bootstrap' || name === 'telemetry-ingest') expect(module.DEFAULT_TLS_PORT).toBe(device);
  });

  it.each(Object.keys(services))('%s takes them from the table, not from a copy of its numbers', (name) => {
    const source = read(`apps/${name}/src/config.ts`);
    expect(source).toMatch(/export const DEFAULT_PORT = DEFAULT_PORTS\.services/);
    const every = [...Object.values(services), ...Object.values(deviceListeners), ...Object.values(stack)];
    const copies = every.filter((port) => new RegExp(`(?<![\\d.])${port}(?!\\d)`).test(source));
    expect(copies, `numbers from DEFAULT_PORTS written out in apps/${name}/src/config.ts`).toEqual([]);
  });
});
