import { closeSync, openSync, writeSync } from 'node:fs';
import { tmp } from './batch-layout';

/**
 * A chunk's text, appended as it is made into one reused buffer: each bundle's string dies young
 * instead of 1,000 of them living until the chunk is joined, so worker heaps (and RSS) stay flat.
 */
export class TextBuffer {
  private buffer: Buffer;
  private length = 0;

  constructor(initialBytes = 4 * 1024 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** Drops (and wipes) what a failed job left. */
  clear(): void {
    this.buffer.fill(0, 0, this.length);
    this.length = 0;
  }

  append(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.buffer.length - this.length < text.length * 3) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + text.length * 3));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer.fill(0, 0, this.length); // it may hold private keys
      this.buffer = grown;
    }
    this.length += this.buffer.write(text, this.length);
  }

  /**
   * Writes the content to `<finalPath>.tmp`, then empties the buffer (wiping it). Flushing to disk is
   * left to the main thread (BatchLayout.commitChunk), so a worker never sits idle waiting on the disk.
   */
  flushTo(finalPath: string, mode: number): void {
    const fd = openSync(tmp(finalPath), 'w', mode);
    try {
      let offset = 0;
      while (offset < this.length) offset += writeSync(fd, this.buffer, offset, this.length - offset);
    } finally {
      closeSync(fd);
    }
    this.clear();
  }
}
