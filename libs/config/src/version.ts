import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'meterkeep';
let cached: string | undefined;

/**
 * The release of this build: the `version` of the root package.json, found by walking up from this
 * file (the repository in development and tests, `/app` in the image, whose dist/ sits beside it).
 */
export function meterkeepVersion(from: string = __dirname): string {
  if (cached !== undefined && from === __dirname) return cached;
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') {
        if (from === __dirname) cached = pkg.version;
        return pkg.version;
      }
    }
    if (dirname(dir) === dir) throw new Error(`no ${PACKAGE_NAME} package.json above ${from}`);
  }
}

/** The answer to `<cli> --version`: the tool's name and the release, as one line. */
export function versionLine(tool: string): string {
  return `${tool} ${meterkeepVersion()}`;
}

/** True when the command line asks only for the version (`--version` or `-V` as the first word). */
export function asksForVersion(argv: readonly string[]): boolean {
  return argv[0] === '--version' || argv[0] === '-V';
}
