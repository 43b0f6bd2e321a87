/** Where progress goes: stderr in the CLI, a fake in tests. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

const PLAIN_INTERVAL_MS = 2_000;
const TTY_INTERVAL_MS = 100;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

const number = new Intl.NumberFormat('en-US');

/**
 * A single-line bar with count, rate and ETA, redrawn in place on a terminal; plain lines at most
 * every two seconds when stderr is a file or a pipe. The rate counts only this run's work, so a
 * resumed batch does not claim the skipped part as speed.
 */
export class ProgressBar {
  private done = 0;
  private doneThisRun = 0;
  private lastDraw = 0;
  private readonly started: number;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly sink: ProgressSink,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.started = clock();
  }

  /** Work found already done (a resumed batch). */
  skip(count: number): void {
    this.done += count;
  }

  add(count: number): void {
    this.done += count;
    this.doneThisRun += count;
    const now = this.clock();
    if (now - this.lastDraw >= (this.sink.isTTY ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS)) {
      this.lastDraw = now;
      this.draw(now);
    }
  }

  /** Final state, then a newline on a terminal. */
  finish(): void {
    this.draw(this.clock());
    if (this.sink.isTTY) this.sink.write('\n');
  }

  get rate(): number {
    const seconds = (this.clock() - this.started) / 1000;
    return seconds > 0 ? this.doneThisRun / seconds : 0;
  }

  line(now = this.clock()): string {
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? this.doneThisRun / seconds : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : Number.POSITIVE_INFINITY;
    const percent = this.total > 0 ? Math.floor((this.done / this.total) * 100) : 100;
    return (
      `${this.label} ${number.format(this.done)}/${number.format(this.total)} ${percent}% ` +
      `${number.format(Math.round(rate))}/s ETA ${this.done >= this.total ? '0:00' : duration(eta)}`
    );
  }

  private draw(now: number): void {
    const text = this.line(now);
    if (!this.sink.isTTY) {
      this.sink.write(`${text}\n`);
      return;
    }
    const width = Math.max(10, Math.min(30, (this.sink.columns ?? 80) - text.length - 4));
    const filled = this.total > 0 ? Math.round((this.done / this.total) * width) : width;
    this.sink.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}\x1b[K`);
  }
}
