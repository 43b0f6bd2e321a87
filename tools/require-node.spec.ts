import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem, requiredNodeMajor } from './require-node.mjs';

const root = resolve(__dirname, '..');
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};
const check = nodeVersionProblem;

describe('the Node.js the npm scripts run on', () => {
  it('is the major of .nvmrc, which engines and the node devDependency agree with', () => {
    const major = requiredNodeMajor();
    expect(major).toBe(24);
    expect(pkg.engines.node).toBe(`>=${major}`);
    expect(pkg.devDependencies.node).toMatch(new RegExp(`^\\^${major}\\.`));
  });

  it('refuses another major with a message that says what to do', () => {
    expect(check('24.21.0', 24)).toBeUndefined();
    const problem = check('20.20.2', 24);
    expect(problem).toMatch(/needs Node\.js 24, but it is running on Node\.js 20\.20\.2/);
    expect(problem).toMatch(/allowScripts/);
    expect(check('25.0.0', 24)).toMatch(/needs Node\.js 24/);
  });

  it('approves the install script of the node devDependency and decides every other one', () => {
    const lock = JSON.parse(readFileSync(resolve(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    // npm 12 skips an install script allowScripts does not name; each one is decided here.
    expect([...new Set(withScripts)].sort()).toEqual(Object.keys(pkg.allowScripts).sort());
    const approved = Object.entries(pkg.allowScripts).filter(([, allowed]) => allowed);
    expect(approved.map(([name]) => name)).toEqual(['node']);
  });
});
