// The built enrollment service in a process of its own, for the suites of services that authenticate
// operators' API keys through it (privacy, the OTA distributor), as they are deployed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type ServiceProcess,
  findWorkspaceRoot,
  freePort,
  stackEnvFrom,
  startServiceProcess,
} from '@meterkeep/local-stack';
import { enrollmentClient } from '@meterkeep/client';
import { platformEnv, runBuiltCli } from './lifecycle-harness';
import { uniqueName } from './stack-endpoints';

export type OperatorRole = 'admin' | 'operator' | 'auditor';

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface RequestOptions {
  key?: string;
  json?: unknown;
  headers?: Record<string, string>;
}

/** The built enrollment service as its own process, and the CLI that makes tenants and keys. */
export class EnrollmentProcess {
  private constructor(
    readonly process: ServiceProcess,
    private readonly env: Record<string, string>,
    /** Its internal listener (mutual TLS with the local platform CA): API-key introspection. */
    readonly internalUrl: string,
    private readonly tenantPrefix: string,
  ) {}

  /** The first admin key of each tenant this process made: what makes its further keys, over REST. */
  private readonly adminKeys = new Map<string, string>();

  get url(): string {
    return this.process.url;
  }

  /** Builds the workspace, then starts enrollment; `suite` names its log directory and its tenants. */
  static async start(suite: string): Promise<EnrollmentProcess> {
    execFileSync(process.execPath, [resolve(findWorkspaceRoot(), 'tools/build.mjs')], { stdio: 'ignore' });
    const stack = stackEnvFrom(process.env);
    if (!stack) throw new Error('The test stack is not set up; run this suite through vitest');
    const internalPort = await freePort();
    const env = platformEnv(stack, { INTERNAL_PORT: String(internalPort), LOG_LEVEL: 'info' });
    const logFile = join(mkdtempSync(join(tmpdir(), `${suite}-it-`)), 'enrollment.log');
    // The launcher gives it enrollment's identity from the local platform CA.
    const service = await startServiceProcess({ name: 'enrollment', port: await freePort(), env, logFile });
    try {
      await service.waitReady(90_000);
    } catch (error) {
      await service.stop();
      throw error;
    }
    return new EnrollmentProcess(service, env, `https://127.0.0.1:${internalPort}`, suite);
  }

  /** A new tenant and its admin key, made with the enrollment CLI as an operator would. */
  async tenant(prefix = this.tenantPrefix): Promise<{ tenantId: string; adminKey: string }> {
    const tenantId = uniqueName(prefix).toLowerCase();
    const adminKey = (await runBuiltCli('enrollment', ['tenant', 'create', tenantId], this.env)).trim();
    this.adminKeys.set(tenantId, adminKey);
    return { tenantId, adminKey };
  }

  /** A further key of a tenant made by `tenant()`, created by its admin key over REST as an operator would. */
  async key(tenantId: string, role: OperatorRole): Promise<string> {
    const adminKey = this.adminKeys.get(tenantId);
    if (!adminKey) throw new Error(`No admin key for ${tenantId}: make the tenant with tenant() first`);
    const client = enrollmentClient({ baseUrl: this.url, apiKey: adminKey });
    return (await client.ok(client.api.POST('/v1/api-keys', { body: { role } }))).apiKey;
  }

  /** Revokes a key through enrollment's operator API, as an admin would. */
  async revoke(adminKey: string, apiKey: string): Promise<number> {
    const keyId = /^mk_([^_]+)_/.exec(apiKey)![1]!;
    const response = await fetch(`${this.url}/v1/api-keys/${keyId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminKey}` },
    });
    return response.status;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}
