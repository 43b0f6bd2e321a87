import { type FSWatcher, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '@meterkeep/observability';

export interface WatchedFilesOptions {
  /** The files whose change matters (cert-manager renews a Secret's files in place). */
  files: readonly string[];
  /** How long the files must stay quiet before `onChange` (a renewal writes several files). */
  debounceMs: number;
  /** A safety net for a change the watch missed: `onChange` runs this often anyway. */
  pollMs: number;
  onChange: () => void;
  logger: Logger;
  /** Names what is watched in log lines, such as `device listener`. */
  name: string;
}

/**
 * Calls `onChange` once the files' directories have been quiet for `debounceMs` after a change, and every
 * `pollMs`. Watches directories, not files: a Secret volume is updated by swapping a symlink (..data),
 * which a watch on the old file would never see. Nothing here keeps the process alive. Returns `stop`.
 */
export function watchFiles(options: WatchedFilesOptions): () => void {
  const { logger, name } = options;
  let debounce: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(debounce);
    debounce = setTimeout(options.onChange, options.debounceMs);
    debounce.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(options.files.map((file) => dirname(resolve(file))))) {
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (error) => logger.warn({ err: error, dir }, `${name}: watching its files failed`));
      watchers.push(watcher);
    } catch (error) {
      logger.warn({ err: error, dir }, `${name}: cannot watch its files; polling only`);
    }
  }
  const poll = setInterval(options.onChange, options.pollMs);
  poll.unref();
  return () => {
    for (const watcher of watchers) watcher.close();
    clearTimeout(debounce);
    clearInterval(poll);
  };
}
