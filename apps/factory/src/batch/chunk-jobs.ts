import type { BatchFile } from './batch-file';

/**
 * What a worker is started with: the task, the batch, and (to sign) the intermediate's key as PKCS#8
 * DER, which each worker imports once into its own KeyObject and then wipes. A KeyObject shared across
 * threads would do: OpenSSL 3 then serialises signatures on it, halving throughput on two cores.
 */
export type WorkerInit =
  | {
      readonly task: 'mint' | 'sign-csrs';
      readonly batch: BatchFile;
      readonly rootPem: string;
      readonly caKeyDer: Uint8Array;
    }
  | { readonly task: 'verify'; readonly batch: BatchFile; readonly rootPem: string; readonly at: string };

/** Where a chunk's parts go; the worker writes each as `<path>.tmp`, the main thread renames them. */
export interface ChunkPaths {
  readonly chunk: number;
  readonly bundlesPath: string;
  readonly enrollmentPath: string;
  readonly rejectedPath: string;
}

export interface MintJob extends ChunkPaths {
  /** Position in the batch of the chunk's first meter. */
  readonly start: number;
  readonly count: number;
}

export interface CsrLine {
  /** 1-based line number in the input file. */
  readonly lineNo: number;
  readonly text: string;
}

export interface SignCsrsJob extends ChunkPaths {
  /** The chunk's non-blank lines. */
  readonly lines: readonly CsrLine[];
  /** Input lines the chunk spans, blank ones included (what progress counts). */
  readonly size: number;
}

export interface ChunkResult {
  readonly chunk: number;
  readonly bundles: number;
  readonly rejected: number;
  /** What progress counts: meters, or input lines. */
  readonly items: number;
}

export interface VerifyJob {
  readonly chunk: number;
  readonly path: string;
  /** Name shown in failures, relative to the batch directory. */
  readonly label: string;
}

export interface VerifyFailure {
  /** `bundles/chunk-000001.jsonl:17 (EM300-…)`, `manifest.json`… */
  readonly where: string;
  readonly code: string;
  readonly message: string;
}

export interface VerifyResult {
  readonly chunk: number;
  readonly bundles: number;
  readonly failures: readonly VerifyFailure[];
  /** The enrollment row each bundle implies, in order; undefined where the bundle is unreadable. */
  readonly rows: readonly (string | undefined)[];
  /** Serial indexes of the first and last readable bundle. */
  readonly firstIndex: number | undefined;
  readonly lastIndex: number | undefined;
  /** Intermediate certificates the bundles' chains carry (SHA-256). */
  readonly intermediates: readonly string[];
}

export type WorkerJob = MintJob | SignCsrsJob | VerifyJob;
export type WorkerReply<R> =
  { readonly ok: true; readonly result: R } | { readonly ok: false; readonly error: string };
