import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as contracts from '@meterkeep/contracts';
import { ALL_HTTP_ROUTES, httpErrorBody } from '@meterkeep/contracts';

/**
 * Apps may not import apps, so a shape written twice drifts silently: bootstrap's answer was once
 * declared in apps/bootstrap and again in apps/meter-sim. This guard compares shapes, not names: it
 * reads every zod object schema (`z.object({...})`, `z.strictObject`, `z.looseObject`), interface and
 * object type written in the apps, and fails when one is a copy of a device contract's shape in
 * libs/contracts (a request, an answer, a refusal body, or an object inside them). Renaming a copy
 * does not hide it; importing the contract (or deriving from it: `.extend`, `Pick<>`, `z.infer`)
 * declares no keys of its own and passes.
 */

const root = resolve(__dirname, '..');

interface ContractShape {
  name: string;
  keys: Set<string>;
  /** Keys a value must carry: a shape with all of them (and nothing else) stands in for the contract. */
  required: Set<string>;
}

interface DeclaredShape {
  where: string;
  kind: 'zod schema' | 'type';
  keys: Set<string>;
}

const isObjectSchema = (value: unknown): value is z.ZodObject =>
  value instanceof z.ZodObject && Object.keys(value.shape).length > 0;

/** The object schemas of the device contracts, the objects inside them, and the error body. */
function deviceContractShapes(): ContractShape[] {
  const found = new Map<z.ZodObject, string>();
  const visit = (schema: unknown, name: string): void => {
    if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable)
      return visit(schema.unwrap(), name);
    if (schema instanceof z.ZodArray) return visit(schema.element, `${name}[]`);
    if (!isObjectSchema(schema) || found.has(schema)) return;
    found.set(schema, name);
    for (const [key, value] of Object.entries(schema.shape)) visit(value, `${name}.${key}`);
  };
  for (const route of ALL_HTTP_ROUTES.filter((r) => r.audience === 'device')) {
    if (route.request) visit(route.request, `${route.name} request`);
    for (const [status, schema] of Object.entries(route.responses)) visit(schema, `${route.name} ${status}`);
  }
  visit(httpErrorBody, 'httpErrorBody');
  // Exported device schemas the routes reach only as unknown[] items (readings, events).
  for (const [name, value] of Object.entries(contracts))
    if (/^meter(Reading|Event)$/.test(name)) visit(value, name);
  return [...found].map(([schema, name]) => ({
    name,
    keys: new Set(Object.keys(schema.shape)),
    required: new Set(
      Object.entries(schema.shape)
        .filter(([, value]) => !(value as z.ZodType).safeParse(undefined).success)
        .map(([key]) => key),
    ),
  }));
}

const propertyName = (name: ts.PropertyName | undefined): string | undefined =>
  name && (ts.isIdentifier(name) || ts.isStringLiteral(name)) ? name.text : undefined;

/** A Date is not on the wire: a property typed Date is a domain value, not a copy of a JSON field. */
const isDomainValue = (member: ts.ObjectLiteralElementLike | ts.TypeElement) =>
  ts.isPropertySignature(member) && member.type?.getText() === 'Date';

const keysOf = (members: ts.NodeArray<ts.ObjectLiteralElementLike | ts.TypeElement>) =>
  new Set(
    members
      .filter((member) => !isDomainValue(member))
      .map((member) =>
        ts.isShorthandPropertyAssignment(member) ? member.name.text : propertyName(member.name),
      )
      .filter((key): key is string => key !== undefined),
  );

/** Every object schema and object type written out in one source file. */
export function declaredShapes(fileName: string, source: string): DeclaredShape[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const shapes: DeclaredShape[] = [];
  const where = (node: ts.Node) =>
    `${fileName}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      /^(object|strictObject|looseObject)$/.test(node.expression.name.text) &&
      node.arguments[0] &&
      ts.isObjectLiteralExpression(node.arguments[0])
    )
      shapes.push({ where: where(node), kind: 'zod schema', keys: keysOf(node.arguments[0].properties) });
    if (ts.isInterfaceDeclaration(node) || ts.isTypeLiteralNode(node))
      shapes.push({ where: where(node), kind: 'type', keys: keysOf(node.members) });
    ts.forEachChild(node, visit);
  };
  visit(file);
  return shapes.filter((shape) => shape.keys.size > 0);
}

const subset = (a: Set<string>, b: Set<string>) => [...a].every((key) => b.has(key));

/**
 * A declared shape copies a contract when it carries every key the contract requires and no key
 * the contract lacks (a copy, perhaps looser), or every key of the contract and more (a copy with
 * extras). On the client side (`strict`), any zod schema made only of a contract's keys is a
 * re-parse of that answer (`z.object({ nonce: z.string() })` for the nonce answer).
 */
export function copiedContract(
  shape: DeclaredShape,
  contracts: ContractShape[],
  strict = false,
): ContractShape | undefined {
  return contracts.find((contract) => {
    const overlap = [...shape.keys].filter((key) => contract.keys.has(key)).length;
    if (strict && shape.kind === 'zod schema' && subset(shape.keys, contract.keys)) return true;
    if (overlap < 2) return false;
    return (
      (subset(contract.required, shape.keys) && subset(shape.keys, contract.keys)) ||
      subset(contract.keys, shape.keys)
    );
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const filesUnder = (...dirs: string[]) =>
  dirs.flatMap((dir) => {
    try {
      return sourceFiles(join(root, dir));
    } catch {
      return [];
    }
  });

/** What is scanned: each app (its source and its tests) and the end-to-end suites. */
const SCANNED: [string, string[]][] = [
  ...readdirSync(join(root, 'apps')).map((app): [string, string[]] => [
    `apps/${app}`,
    [`apps/${app}/src`, `apps/${app}/test`],
  ]),
  ['test', ['test']],
];
/** Callers of the device APIs rather than servers: every answer they parse is a contract's. */
const DEVICE_CLIENTS = new Set(['apps/meter-sim', 'test']);

function copiesIn(label: string, dirs: string[], shapes: ContractShape[]): string[] {
  return filesUnder(...dirs).flatMap((file) =>
    declaredShapes(relative(root, file), readFileSync(file, 'utf8')).flatMap((shape) => {
      const contract = copiedContract(shape, shapes, DEVICE_CLIENTS.has(label));
      return contract
        ? [`${shape.where}: a ${shape.kind} {${[...shape.keys].join(', ')}} copies ${contract.name}`]
        : [];
    }),
  );
}

describe('device contracts are declared once, in libs/contracts', () => {
  const shapes = deviceContractShapes();

  it('knows the device routes and their answers', () => {
    const names = shapes.map((shape) => shape.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'bootstrap.device-certificates.bootstrap 200',
        'bootstrap.psk-nonces.issue 200',
        'telemetry-ingest.batches.post 200',
        'httpErrorBody',
      ]),
    );
  });

  it.each(SCANNED)('%s declares no copy of a device contract', (label, dirs) => {
    expect(copiesIn(label, dirs, shapes)).toEqual([]);
  });

  describe('the guard', () => {
    const copies = (source: string, strict = true) =>
      declaredShapes('probe.ts', source)
        .map((shape) => copiedContract(shape, shapes, strict)?.name)
        .filter(Boolean);

    it("finds meter-sim's former copy of bootstrap's answer, whatever its name", () => {
      expect(
        copies(`const whatever = z.object({
          endpointName: z.string(), tenantId: z.string(), certificatePem: z.string(),
          chainPem: z.array(z.string()), serverTime: z.string(),
          renewal: z.object({ notAfter: z.string(), renewAfter: z.string() }),
          servers: z.object({ telemetry: z.object({ uri: z.string() }), ota: z.object({ uri: z.string() }),
            bootstrap: z.object({ uri: z.string() }) }),
          serverTrustAnchorsPem: z.array(z.string()).optional(),
        });`),
      ).toContain('bootstrap.device-certificates.bootstrap 200');
    });

    it('finds a hand-typed refusal body, a partial re-parse of an answer and a copied request type', () => {
      expect(copies('type Refusal = { code?: string; message?: string };', false)).toEqual([
        expect.stringMatching(/^httpErrorBody$| [45]\d\d$/),
      ]);
      expect(copies('const n = z.object({ nonce: z.string() });')).toEqual([
        'bootstrap.psk-nonces.issue 200',
      ]);
      expect(
        copies(
          'interface Answer { batchId: string; meterId: string; accepted: number; duplicates: number; rejected: unknown[]; replayed: boolean; extra: 1 }',
          false,
        ),
      ).toContain('telemetry-ingest.batches.post 200');
    });

    it('lets through shapes that share a field or two with a contract, and derived ones', () => {
      expect(
        copies(
          `interface Sender { tenantId: string; endpointName: string; serial: string; notAfter: number }
           type Verdict = { ok: false; kind: string; code: string; message: string };
           const stored = bootstrapAnswer.extend({ privateKeyPem: z.string() });
           type Command = { pskIdentity: string; source: string };
           type Issued = { nonce: string; expiresAt: Date };`,
          false,
        ),
      ).toEqual([]);
    });
  });
});
