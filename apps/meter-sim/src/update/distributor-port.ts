import type { OtaStatusReport } from '@meterkeep/contracts';
import type { FirmwareFailureCode } from '@meterkeep/firmware';
import type { UpdateStateName } from './update-state';

/**
 * What the meter needs from the distributor's device API (spec §6.2). The meter treats every answer
 * as untrusted bytes: the directive and the manifest are verified, the URL only names where to fetch
 * bytes whose digest the manifest signs. DistributorHttpClient implements it over mutual TLS.
 */
export interface DistributorPort {
  /** `GET /ota/v1/check-in`: the signed directive bytes, or none when there is nothing to do. */
  checkIn(report: CheckInReport): Promise<CheckInAnswer>;
  /** `GET /ota/v1/executions/{id}/manifest`: the exact signed envelope bytes. */
  fetchManifest(executionId: string): Promise<Uint8Array>;
  /** `POST /ota/v1/executions/{id}/download-url`: a presigned URL for one object (never logged). */
  downloadUrl(executionId: string, component: string, delta: boolean): Promise<string>;
  /** `POST /ota/v1/executions/{id}/status`: idempotent per (execution, attempt, seq). */
  postStatus(executionId: string, status: StatusReport): Promise<void>;
  /** `POST /ota/v1/executions/{id}/receipt`: the receipt signed with the operational key. */
  postReceipt(executionId: string, signedReceipt: Uint8Array): Promise<void>;
}

export interface CheckInReport {
  /** Manifest digest the meter runs (its first component's), or "none". */
  readonly installed: string;
  readonly seq: number;
  readonly slot: 'A' | 'B';
  /** The meter's hardware revision (a campaign stratum), when it knows one. */
  readonly hardwareRevision?: string;
}

export interface CheckInAnswer {
  /** `{ directive, signature }` bytes; absent when no execution is active (a 304 repeats the last answer). */
  readonly directive?: Uint8Array;
  /** The server's poll interval (server-directed, jittered). */
  readonly pollAfterSeconds?: number;
  /** Authenticated server time (the check-in is mutual TLS to the server bootstrap named): the trusted clock's anchor. */
  readonly serverTime?: Date;
}

/**
 * A status as the engine reports it: the contract's report, in the meter's own state names (the HTTP
 * client maps them to the reportable states of OTA_EXECUTION_STATUS).
 */
export type StatusReport = Omit<OtaStatusReport, 'state' | 'failureCode' | 'deferUntil'> & {
  readonly state: UpdateStateName;
  readonly failureCode?: FirmwareFailureCode;
};
