import type { RejectedRow } from './enrollment-lists.schemas';

/** Counts rows and keeps the first `maxListed` rejections by line number, in bounded memory. */
export class UploadReportBuilder {
  accepted = 0;
  unchanged = 0;
  rejected = 0;
  private rows: RejectedRow[] = [];

  constructor(private readonly maxListed: number) {}

  reject(line: number, reason: string): void {
    this.rejected++;
    this.rows.push({ line, reason });
    if (this.rows.length >= this.maxListed * 2) this.trim();
  }

  get rejectedRows(): RejectedRow[] {
    this.trim();
    return this.rows;
  }

  get truncated(): boolean {
    return this.rejected > this.rejectedRows.length;
  }

  private trim(): void {
    this.rows.sort((a, b) => a.line - b.line);
    if (this.rows.length > this.maxListed) this.rows.length = this.maxListed;
  }
}
