import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FactoryError } from '../factory.errors';
import type { WorkerInit, WorkerReply } from './chunk-jobs';

/** The compiled worker beside this file (dist/apps/factory/src/batch/batch.worker.js). */
export const BATCH_WORKER_FILE = join(__dirname, 'batch.worker.js');

export const defaultWorkerCount = (): number => availableParallelism();

interface Task<J, R> {
  readonly job: J;
  resolve(result: R): void;
  reject(error: Error): void;
}

interface Slot<J, R> {
  readonly worker: Worker;
  task: Task<J, R> | undefined;
}

/**
 * A fixed set of worker threads, one job at a time each. A worker that throws fails its job; one
 * that dies fails the pool (every queued job is refused), since its state can no longer be trusted.
 * Workers get no environment: the CA passphrase stays in the main thread.
 */
export class WorkerPool<J, R> {
  private readonly slots: Slot<J, R>[] = [];
  private readonly queue: Task<J, R>[] = [];
  private broken: Error | undefined;
  private closing = false;

  constructor(size: number, init: WorkerInit, file = BATCH_WORKER_FILE) {
    for (let i = 0; i < size; i++) {
      const slot: Slot<J, R> = { worker: new Worker(file, { workerData: init, env: {} }), task: undefined };
      slot.worker.on('message', (reply: WorkerReply<R>) => this.settle(slot, reply));
      slot.worker.on('error', (error: Error) =>
        this.fail(new FactoryError('WORKER_FAILED', `worker failed: ${error.message}`)),
      );
      slot.worker.on('exit', (code) => {
        if (!this.closing) this.fail(new FactoryError('WORKER_FAILED', `worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  get size(): number {
    return this.slots.length;
  }

  run(job: J): Promise<R> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task) continue;
      const task = this.queue.shift();
      if (!task) return;
      slot.task = task;
      slot.worker.postMessage(task.job);
    }
  }

  private settle(slot: Slot<J, R>, reply: WorkerReply<R>): void {
    const task = slot.task;
    slot.task = undefined;
    if (task) {
      if (reply.ok) task.resolve(reply.result);
      else task.reject(new FactoryError('WORKER_FAILED', reply.error));
    }
    this.dispatch();
  }

  private fail(error: Error): void {
    this.broken ??= error;
    for (const slot of this.slots) {
      slot.task?.reject(error);
      slot.task = undefined;
    }
    for (const task of this.queue.splice(0)) task.reject(error);
  }
}
