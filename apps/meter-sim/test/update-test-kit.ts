import { createHash, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Directive,
  type FirmwareManifest,
  canonicalBytes,
  keyIdOf,
  signDirective,
  signEs256,
  signManifest,
} from '@meterkeep/firmware';
import { MeterStorage } from '../src/device/meter-storage';
import type { CheckInAnswer, DistributorPort, StatusReport } from '../src/update/distributor-port';
import { UpdateEngine, type UpdateEngineOptions } from '../src/update/update-engine';
import { slotFile } from '../src/update/update-state';

/** Test-only helpers for the update engine's unit tests: keys, releases, a distributor, an image server. */

/**
 * The wall clock at load, to the second: `meter-sim fleet update` runs with the real clock, so a fixed
 * date made its directives (valid 23 h) expire a day after it was written.
 */
export const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
export const DAY = 24 * 3600 * 1000;
const iso = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export const newKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
export const KEYS = { authority: newKey(), directive: newKey(), operational: newKey(), rogue: newKey() };

export interface ComponentSpec {
  readonly id: 'app' | 'metrology' | 'modem';
  /** The payload as fetched. */
  readonly payload: Uint8Array;
  readonly format?: string;
  readonly precursorDigest?: string;
  readonly result?: Uint8Array;
  /** Overrides the signed digest or size (a release signed with wrong values). */
  readonly digest?: string;
  readonly size?: number;
}

export function manifestFor(
  sequenceNumber: number,
  components: readonly ComponentSpec[],
  overrides: Partial<FirmwareManifest> = {},
): FirmwareManifest {
  return {
    manifestVersion: 1,
    sequenceNumber,
    vendorId: 'acme',
    classId: 'em300-v2',
    components: components.map((c) => ({
      id: [c.id],
      version: `1.0.${sequenceNumber}`,
      format: (c.format ?? 'raw') as 'raw',
      digest: { alg: 'sha-256' as const, value: c.digest ?? sha256(c.payload) },
      size: c.size ?? c.payload.length,
      ...(c.precursorDigest !== undefined && {
        precursorDigest: { alg: 'sha-256' as const, value: c.precursorDigest },
      }),
      ...(c.result !== undefined && {
        resultDigest: { alg: 'sha-256' as const, value: sha256(c.result) },
        resultSize: c.result.length,
      }),
    })),
    issuedAt: iso(-DAY),
    expiresAt: iso(89 * DAY),
    description: 'test release',
    ...overrides,
  };
}

export interface Release {
  readonly envelope: Buffer;
  readonly digest: string;
}

export function release(manifest: FirmwareManifest, signer: KeyObject = KEYS.authority.privateKey): Release {
  const signed = signManifest(manifest, [{ privateKey: signer }]);
  return { envelope: signed.envelopeBytes, digest: signed.digest };
}

/** Signs whatever object it is given, schema or not (what an attacker holding the key could send). */
export function releaseUnchecked(manifest: unknown, signer: KeyObject = KEYS.authority.privateKey): Release {
  const bytes = canonicalBytes(manifest);
  const envelope = canonicalBytes({
    manifest,
    signatures: [
      { keyId: keyIdOf(signer), alg: 'ES256', sig: signEs256(signer, bytes).toString('base64url') },
    ],
  });
  return { envelope, digest: sha256(bytes) };
}

let executions = 0;
export function directiveFor(manifestDigest: string, overrides: Partial<Directive> = {}): Directive {
  executions += 1;
  return {
    deviceId: 'MTR-000001',
    executionId: `exe-${executions}`,
    campaignId: 'fw-2026-12',
    manifestDigest,
    counter: executions,
    nonce: randomBytes(16).toString('base64url'),
    issuedAt: iso(-3600_000),
    expiresAt: iso(DAY - 3600_000),
    actionType: 'soft',
    pollAfterSeconds: 3600,
    ...overrides,
  };
}

/** The distributor's device API as the engine sees it: what it was asked and what it answers. */
export class ScriptedDistributor implements DistributorPort {
  directive?: Uint8Array;
  manifest?: Uint8Array;
  url = 'http://127.0.0.1:9/none';
  /** Per component, when they differ. */
  readonly urls: Record<string, string> = {};
  readonly statuses: StatusReport[] = [];
  readonly receipts: Uint8Array[] = [];
  manifestFetches = 0;
  urlRequests = 0;
  /** Called on each status report; may throw (a test cutting power right after a state is persisted). */
  onStatus?: (status: StatusReport) => void;

  offer(directive: Directive, manifest: Release, signer: KeyObject = KEYS.directive.privateKey): void {
    this.directive = signDirective(directive, signer);
    this.manifest = manifest.envelope;
  }

  /** Sent with every check-in answer when set. */
  serverTime?: Date;
  pollAfterSeconds?: number;

  checkIn(): Promise<CheckInAnswer> {
    return Promise.resolve({
      ...(this.directive && { directive: this.directive }),
      ...(this.serverTime && { serverTime: this.serverTime }),
      ...(this.pollAfterSeconds !== undefined && { pollAfterSeconds: this.pollAfterSeconds }),
    });
  }
  fetchManifest(): Promise<Uint8Array> {
    this.manifestFetches += 1;
    return Promise.resolve(this.manifest ?? Buffer.alloc(0));
  }
  downloadUrl(_executionId: string, component: string): Promise<string> {
    this.urlRequests += 1;
    return Promise.resolve(this.urls[component] ?? this.url);
  }
  postStatus(_executionId: string, status: StatusReport): Promise<void> {
    this.statuses.push(status);
    this.onStatus?.(status);
    return Promise.resolve();
  }
  postReceipt(_executionId: string, signedReceipt: Uint8Array): Promise<void> {
    this.receipts.push(signedReceipt);
    return Promise.resolve();
  }
}

export type ImageServerMode =
  | { kind: 'serve'; bytes: Buffer }
  /** Streams forever without a Content-Length. */
  | { kind: 'endless' }
  /** Sends the first bytes, then holds the connection open and silent. */
  | { kind: 'stall'; bytes: Buffer; after: number }
  /** Answers every request with this status. */
  | { kind: 'status'; status: number };

/** A local HTTP server for images: honours `Range: bytes=N-`, counts the bytes it sends. */
export class ImageServer {
  private server?: Server;
  bytesSent = 0;
  readonly ranges: (string | undefined)[] = [];
  /** Answers the next `count` requests with `status`. */
  failFirst?: { count: number; status: number };
  /** Omit Content-Length (chunked), as a server that streams would. */
  chunked = false;

  constructor(public mode: ImageServerMode) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.ranges.push(request.headers.range);
      if (this.failFirst && this.failFirst.count > 0) {
        this.failFirst.count -= 1;
        response.writeHead(this.failFirst.status).end();
        return;
      }
      const mode = this.mode;
      if (mode.kind === 'endless') {
        const chunk = Buffer.alloc(16 * 1024, 0x5a);
        const pump = () => {
          while (response.write(chunk)) {
            this.bytesSent += chunk.length;
            if (response.destroyed) return;
          }
          this.bytesSent += chunk.length;
          response.once('drain', pump);
        };
        response.writeHead(200);
        pump();
        return;
      }
      if (mode.kind === 'status') {
        response.writeHead(mode.status).end();
        return;
      }
      const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
      const start = match ? Number(match[1]) : 0;
      const body = mode.bytes.subarray(start);
      const headers: Record<string, string | number> = this.chunked ? {} : { 'content-length': body.length };
      if (match) headers['content-range'] = `bytes ${start}-${mode.bytes.length - 1}/${mode.bytes.length}`;
      response.writeHead(match ? 206 : 200, headers);
      if (mode.kind === 'stall') {
        const first = body.subarray(0, mode.after);
        this.bytesSent += first.length;
        response.write(first);
        return;
      }
      // Written in pieces, so a dropping client really stops the rest.
      let at = 0;
      const pump = () => {
        while (at < body.length && !response.destroyed) {
          const piece = body.subarray(at, at + 16 * 1024);
          at += piece.length;
          this.bytesSent += piece.length;
          if (!response.write(piece)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/tenants/t/firmware/image`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export const meterDir = () => mkdtempSync(join(tmpdir(), 'meter-update-'));

export function engine(
  storage: MeterStorage,
  distributor: DistributorPort,
  overrides: Partial<UpdateEngineOptions> = {},
): UpdateEngine {
  return new UpdateEngine({
    storage,
    distributor,
    identity: { deviceId: 'MTR-000001', vendorId: 'acme', classId: 'em300-v2', components: ['app', 'modem'] },
    trust: {
      directivePublicKeys: [KEYS.directive.publicKey],
      rootPublicKeys: [KEYS.authority.publicKey],
      operationalPrivateKey: KEYS.operational.privateKey,
    },
    initialTrustedTime: NOW,
    random: () => 0.5,
    ...overrides,
  });
}

export const OLD_APP = randomBytes(64 * 1024);
export const NEW_APP = randomBytes(256 * 1024);
const openServers: ImageServer[] = [];

/** A meter with its factory app image in slot A, a distributor, and an image server serving `served`. */
export async function meter(served: Buffer = NEW_APP) {
  const storage = new MeterStorage(meterDir());
  UpdateEngine.factoryImage(storage, 'app', OLD_APP);
  const distributor = new ScriptedDistributor();
  const server = new ImageServer({ kind: 'serve', bytes: served });
  openServers.push(server);
  distributor.url = await server.start();
  return { storage, distributor, server };
}

export async function imageServer(bytes: Buffer): Promise<{ server: ImageServer; url: string }> {
  const server = new ImageServer({ kind: 'serve', bytes });
  openServers.push(server);
  return { server, url: await server.start() };
}

export async function stopServers(): Promise<void> {
  await Promise.all(openServers.splice(0).map((s) => s.stop()));
}

/** Offers the distributor a fresh directive for a one-component release signed by the update authority. */
export function offer(distributor: ScriptedDistributor, sequence: number, payload: Uint8Array = NEW_APP) {
  const signed = release(manifestFor(sequence, [{ id: 'app', payload }]));
  const directive = directiveFor(signed.digest);
  distributor.offer(directive, signed);
  return { signed, directive };
}

export const digestOf = (bytes: Uint8Array | undefined) => (bytes ? sha256(bytes) : 'none');

/** SHA-256 of the image in the active slot of a component (digests compare fast; large buffers do not). */
export const activeImage = (storage: MeterStorage, e: UpdateEngine, component = 'app') =>
  digestOf(storage.readBytes(slotFile(component, e.snapshot.components[component]!.activeSlot)));

export { MeterStorage };
