import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackContext } from './context';
import { onPath, runLogged } from './processes';
import { StackError } from './settings';

let java: string | undefined;

/** The `java` to run Kafka and S3Proxy with: JAVA_HOME's, else the PATH's; 17 or newer. */
export function requireJava(env: NodeJS.ProcessEnv): string {
  if (java) return java;
  let bin: string | undefined;
  if (env.JAVA_HOME) {
    try {
      accessSync(join(env.JAVA_HOME, 'bin/java'), constants.X_OK);
      bin = join(env.JAVA_HOME, 'bin/java');
    } catch {
      // fall back to the PATH
    }
  }
  bin ??= onPath('java', env);
  if (!bin)
    throw new StackError(
      'java not found: Kafka and S3Proxy need Java 17 or newer (install a JDK 17+ or set JAVA_HOME)',
    );
  const { stdout, stderr } = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  const version = /version "([^"]*)"/.exec(`${stderr}${stdout}`)?.[1];
  if (!version) throw new StackError(`could not read the Java version from '${bin} -version'`);
  const [first, second] = version.split('.');
  const major = Number(first === '1' ? second : first);
  if (!Number.isInteger(major))
    throw new StackError(`could not read the Java version from '${bin} -version'`);
  if (major < 17)
    throw new StackError(
      `${bin} is Java ${version}; Kafka 4 and S3Proxy need Java 17 or newer (set JAVA_HOME)`,
    );
  java = bin;
  return bin;
}

const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Copies the pom's runtime dependencies into `lib` once. The pom's hash is kept in `lib`, so a changed
 * pom (e.g. a new pinned version) fetches again and nothing else does.
 */
export async function fetchLibs(
  context: StackContext,
  name: string,
  pom: string,
  lib: string,
): Promise<void> {
  const want = sha256Of(pom);
  try {
    if (readFileSync(join(lib, '.pom.sha256'), 'utf8').trim() === want) return;
  } catch {
    // not fetched yet
  }
  const mvn = onPath('mvn', context.env);
  if (!mvn)
    throw new StackError(`mvn not found: Maven 3.8+ is needed once to fetch ${name} from Maven Central`);
  context.say(`fetching ${name} from Maven Central (once) ...`);
  const staging = `${lib}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const logFile = join(context.settings.stateDir, `mvn-${name}.log`);
  const args = [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    pom,
    'dependency:copy-dependencies',
    `-Dstack.libDir=${staging}`,
  ];
  if ((await runLogged(mvn, args, logFile, false)) !== 0)
    throw new StackError(`fetching ${name} with Maven failed; see ${logFile}`);
  writeFileSync(join(staging, '.pom.sha256'), `${want}\n`);
  rmSync(lib, { recursive: true, force: true });
  renameSync(staging, lib);
}
