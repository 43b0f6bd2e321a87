// The npm scripts run on the production runtime, Node 24, which `npm ci` installs into node_modules
// (the `node` devDependency, whose install script package.json's allowScripts approves). When that
// script was blocked, npm falls back to whatever Node is installed: say so and stop, rather than
// run the demo, the build or the tests on a runtime the project is not made for.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { workspaceRoot } from './swc-options.mjs';

/** The major version in .nvmrc, the one place that names it. */
export function requiredNodeMajor() {
  return Number(
    readFileSync(resolve(workspaceRoot, '.nvmrc'), 'utf8').trim().replace(/^v/, '').split('.')[0],
  );
}

/** Undefined when `version` (as in process.versions.node) will do, else what to tell the person. */
export function nodeVersionProblem(version, required = requiredNodeMajor()) {
  const major = Number(version.split('.')[0]);
  if (major === required) return undefined;
  return (
    `this needs Node.js ${required}, but it is running on Node.js ${version}.\n` +
    `  npm scripts use node_modules/.bin/node, which \`npm ci\` installs from the \`node\` devDependency;\n` +
    `  it is missing when npm did not run that package's install script. Check package.json's allowScripts\n` +
    `  (\`npm install-scripts ls\`), then run \`npm ci\` again, or put Node.js ${required} first on your PATH.`
  );
}

/** Stops the process with a clear message unless it runs on the required Node.js major. */
export function requireNode(tool) {
  const problem = nodeVersionProblem(process.versions.node);
  if (problem) {
    console.error(`${tool}: ${problem}`);
    process.exit(1);
  }
}
