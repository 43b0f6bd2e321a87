import { z } from 'zod';
import { sha256Hex } from '../events/common';
import { otaFailureCode } from '../events/ota-firmware-common';
import { OTA_EXECUTION_STATES } from '../events/ota-device-status-v2.event';
import { type HttpResponses, defineHttpRoute, httpError } from './http-route';
import { firmwareManifestId, otaClassId } from './ota-operator-routes';

/**
 * Operators' campaign routes (spec §6.1, issue #13): create a campaign as a DRAFT, read it, submit it
 * for approval, approve or deny it. The approver is never the creator; auditors read only.
 */

export const OTA_CAMPAIGN_STATES = [
  'DRAFT',
  'PENDING_APPROVAL',
  'APPROVED',
  'DENIED',
  'SCHEDULED',
  'RUNNING',
  'PAUSED',
  'HALTED',
  'CANCELLING',
  'CANCELLED',
  'COMPLETED',
] as const;
export const OTA_PHASE_STATES = ['PENDING', 'ACTIVE', 'SOAKING', 'PASSED', 'FAILED'] as const;
export const OTA_ABORT_FAILURE_TYPES = ['FAILED', 'REJECTED', 'ROLLED_BACK', 'TIMED_OUT'] as const;

/** Most devices a campaign names explicitly (target or phase); fleets beyond are targeted by query. */
export const OTA_CAMPAIGN_MAX_EXPLICIT_IDS = 10_000;
const MAX_MINUTES = 7 * 24 * 60;

export const campaignId = z.uuid({ version: 'v4' }).describe('Campaign id (UUID v4)');
const deviceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'endpoint name');
const deviceIds = z
  .array(deviceId)
  .min(1)
  .max(OTA_CAMPAIGN_MAX_EXPLICIT_IDS)
  .refine((ids) => new Set(ids).size === ids.length, 'each device once');
const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'label');
const utcInstant = z.iso.datetime({ offset: false });
const timestamp = z.iso.datetime({ offset: true });
const percent = z.number().min(0).max(100);

/** Most twins a shadow run names: a few meters per hardware revision. */
export const OTA_SHADOW_MAX_TWINS = 32;

const phaseSize = z.union([
  z.strictObject({ percent: z.number().gt(0).max(100) }),
  z.strictObject({ count: z.number().int().min(1).max(10_000_000) }),
  z.strictObject({ deviceIds }),
]);

const phase = z.strictObject({
  name: z.string().min(1).max(64),
  size: phaseSize,
  successThresholdPercent: percent.default(95),
  minSoakMinutes: z
    .number()
    .int()
    .min(0)
    .max(30 * 24 * 60)
    .default(24 * 60),
});

/** Spec §6.1 defaults: canary of 10 devices, then 1%, 10%, all. */
const DEFAULT_PHASES = [
  { name: 'canary', size: { count: 10 }, successThresholdPercent: 95, minSoakMinutes: 1440 },
  { name: '1%', size: { percent: 1 }, successThresholdPercent: 95, minSoakMinutes: 1440 },
  { name: '10%', size: { percent: 10 }, successThresholdPercent: 95, minSoakMinutes: 1440 },
  { name: 'all', size: { percent: 100 }, successThresholdPercent: 95, minSoakMinutes: 1440 },
];

const abortRule = z
  .strictObject({
    scope: z.enum(['phase', 'campaign']).default('phase'),
    failureTypes: z
      .array(z.enum(OTA_ABORT_FAILURE_TYPES))
      .min(1)
      .default([...OTA_ABORT_FAILURE_TYPES]),
    thresholdPercent: percent.optional(),
    thresholdCount: z.number().int().min(1).optional(),
    minExecuted: z.number().int().min(0).default(20),
  })
  .refine((r) => r.thresholdPercent !== undefined || r.thresholdCount !== undefined, {
    message: 'thresholdPercent or thresholdCount',
  });

export const campaignCreate = z
  .strictObject({
    name: z.string().min(1).max(128),
    manifestId: firmwareManifestId,
    target: z
      .strictObject({
        query: z
          .strictObject({
            firmwareSequenceBelow: z.number().int().min(0).optional(),
            tags: z.array(label).max(32).optional(),
            gatewayIds: z.array(deviceId).max(1_000).optional(),
            regions: z.array(label).max(64).optional(),
          })
          .optional(),
        deviceIds: deviceIds.optional(),
        /** New meters matching the query join the last phase while the campaign runs. */
        dynamic: z.boolean().default(false),
      })
      .refine((t) => (t.query === undefined) !== (t.deviceIds === undefined), {
        message: 'exactly one of query and deviceIds',
      })
      .refine((t) => !t.dynamic || t.query !== undefined, { path: ['dynamic'], message: 'needs a query' }),
    phases: z.array(phase).min(1).max(64).default(DEFAULT_PHASES),
    rollout: z
      .strictObject({
        maxPerMinute: z.number().int().min(1).max(100_000).default(1_000),
        exponential: z
          .strictObject({
            base: z.number().int().min(1).max(100_000),
            factor: z.number().min(1.1).max(5),
            increaseAfter: z.union([
              z.strictObject({ notified: z.number().int().min(1) }),
              z.strictObject({ succeeded: z.number().int().min(1) }),
            ]),
          })
          .optional(),
        perGatewayConcurrency: z.number().int().min(1).max(100_000).default(50),
        perGatewayBytesPerHour: z.number().int().positive().optional(),
      })
      .default({ maxPerMinute: 1_000, perGatewayConcurrency: 50 }),
    abort: z
      .array(abortRule)
      .max(16)
      .default([
        {
          scope: 'phase',
          failureTypes: [...OTA_ABORT_FAILURE_TYPES],
          thresholdPercent: 5,
          minExecuted: 20,
        },
      ]),
    timeouts: z
      .strictObject({
        downloadMinutes: z.number().int().min(1).max(MAX_MINUTES).default(360),
        installMinutes: z.number().int().min(1).max(MAX_MINUTES).default(1440),
      })
      .default({ downloadMinutes: 360, installMinutes: 1440 }),
    retry: z
      .strictObject({
        max: z.number().int().min(0).max(10).default(2),
        backoffMinutes: z.number().int().min(1).max(1440).default(60),
        /** Failure codes (§6.8), a prefix ending in `*`, or TIMED_OUT. */
        codes: z
          .array(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}\*?$/, 'failure code'))
          .max(32)
          .default(['DOWNLOAD_*']),
      })
      .default({ max: 2, backoffMinutes: 60, codes: ['DOWNLOAD_*'] }),
    actionType: z.enum(['soft', 'forced', 'timeforced', 'downloadonly']).default('soft'),
    forceAt: utcInstant.optional(),
    /** They gate install, not download. Checked by the distributor: 422 INVALID_CRON / INVALID_TIMEZONE. */
    maintenanceWindows: z
      .array(
        z.strictObject({
          cron: z.string().min(9).max(120),
          durationMinutes: z.number().int().min(1).max(1430),
          timezone: z.string().min(1).max(64),
        }),
      )
      .max(8)
      .default([]),
    startAt: utcInstant.optional(),
    revertOnHalt: z.strictObject({ manifestId: firmwareManifestId }).optional(),
    /**
     * Shadow run (spec §6 item 3): before phase 1, the real signed manifest and image go to these
     * twins (meters of the tenant and class the operator keeps as twins, ACTIVE, one per hardware
     * revision the targets have at least) through the normal directive, download, verify, install,
     * boot and receipt; phase 1 opens only once every twin SUCCEEDED. A twin failing, rolling back or
     * silent past timeoutSeconds halts the campaign (SHADOW_FAILED, never resumed). Twins are never
     * targets and count in no phase.
     */
    shadowRun: z
      .strictObject({
        twins: z
          .array(deviceId)
          .min(1)
          .max(OTA_SHADOW_MAX_TWINS)
          .refine((ids) => new Set(ids).size === ids.length, 'each twin once'),
        timeoutSeconds: z.number().int().min(30).max(86_400).default(3_600),
      })
      .optional(),
  })
  .refine((c) => (c.actionType === 'timeforced') === (c.forceAt !== undefined), {
    path: ['forceAt'],
    message: 'present exactly when actionType is timeforced',
  })
  .refine((c) => new Set(c.phases.map((p) => p.name)).size === c.phases.length, {
    path: ['phases'],
    message: 'names differ',
  })
  .refine(
    (c) => {
      const named = c.phases.flatMap((p) => ('deviceIds' in p.size ? p.size.deviceIds : []));
      return new Set(named).size === named.length && named.length <= OTA_CAMPAIGN_MAX_EXPLICIT_IDS;
    },
    { path: ['phases'], message: 'a device in one phase only' },
  )
  .refine(
    (c) => {
      const named = new Set([
        ...(c.target.deviceIds ?? []),
        ...c.phases.flatMap((p) => ('deviceIds' in p.size ? p.size.deviceIds : [])),
      ]);
      return !c.shadowRun?.twins.some((twin) => named.has(twin));
    },
    { path: ['shadowRun', 'twins'], message: 'a twin is never a target nor named in a phase' },
  );
export type OtaCampaignCreate = z.input<typeof campaignCreate>;
export type OtaCampaignDefinition = z.output<typeof campaignCreate>;

const counts = z.partialRecord(z.enum(OTA_EXECUTION_STATES), z.number().int().nonnegative());

/** FAILED: a twin failed, rolled back or timed out; the campaign halted for good (haltCode absent). */
export const OTA_SHADOW_STATES = ['PENDING', 'ACTIVE', 'PASSED', 'FAILED'] as const;

export const campaignView = z.object({
  campaignId,
  name: z.string(),
  state: z.enum(OTA_CAMPAIGN_STATES),
  manifestId: firmwareManifestId,
  manifestDigest: sha256Hex,
  classId: otaClassId,
  sequenceNumber: z.number().int().nonnegative(),
  createdBy: z.string(),
  createdAt: timestamp,
  submittedBy: z.string().nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: timestamp.nullable(),
  /**
   * Set while an accepted start plans the campaign (the start answered 202; the campaign stays APPROVED
   * until the plan is persisted, then it is RUNNING or SCHEDULED): since when, and who started it.
   */
  planning: z.object({ since: timestamp, startedBy: z.string() }).optional(),
  phases: z.array(
    z.object({
      phase: z.number().int().min(1),
      name: z.string(),
      state: z.enum(OTA_PHASE_STATES),
      targets: z.number().int().nonnegative(),
      successThresholdPercent: percent,
      minSoakMinutes: z.number().int().nonnegative(),
      /** Executions by state; states with none are absent. */
      counts,
      /**
       * The open phase's meters overdue for check-in (unfinished, silent for 3 poll intervals plus
       * the coarseness of the check-in record): left out of its success denominator until they report.
       * Only on a read of the campaign, only on the open phase; at most 100 device ids listed.
       */
      overdue: z
        .object({ count: z.number().int().nonnegative(), deviceIds: z.array(z.string()).max(100) })
        .optional(),
    }),
  ),
  /** All phases' executions by state (twins are in no phase). */
  counts,
  /** The shadow run, when the campaign has one: its state and its twins' executions by state. */
  shadow: z
    .object({
      state: z.enum(OTA_SHADOW_STATES),
      twins: z.number().int().nonnegative(),
      counts,
    })
    .optional(),
  haltReason: z
    .object({
      rule: z.number().int(),
      phase: z.number().int(),
      failed: z.number().int(),
      executed: z.number().int(),
    })
    .nullable(),
  /**
   * What halted it last: ABORT_RULE (haltReason says which) or MANIFEST_REVOKED (its manifest was
   * revoked; haltReason is null and the campaign never resumes). Null if it never halted. Absent for
   * a halt by its shadow run (shadow.state FAILED; haltReason null, never resumed): the enum predates it.
   */
  haltCode: z.enum(['ABORT_RULE', 'MANIFEST_REVOKED']).nullable().optional(),
  /**
   * The revert campaign its halt created (revertOnHalt): the meters it had updated, and those still
   * installing then, which join the revert when they finish. Null if none.
   */
  revertCampaignId: z.uuid().nullable().optional(),
  /** The request as the distributor holds it, defaults filled in. */
  definition: z.record(z.string(), z.unknown()),
});
export type OtaCampaignView = z.infer<typeof campaignView>;

const unauthenticated = httpError('UNAUTHENTICATED: no API key, a malformed, unknown or revoked one');
const forbiddenWriter = httpError("FORBIDDEN: the API key's role may not do this (admin or operator only)");
const invalid = httpError('INVALID_REQUEST: the body or a parameter breaks the contract');
const notFound = httpError('CAMPAIGN_NOT_FOUND: no campaign of this tenant has that id');
const stateConflict = httpError(
  "CAMPAIGN_STATE_CONFLICT: not allowed in the campaign's current state (named)",
);

const createExample: OtaCampaignCreate = {
  name: 'em300 4.3.0',
  manifestId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  target: { query: { firmwareSequenceBelow: 43 } },
  phases: [
    { name: 'canary', size: { count: 10 }, minSoakMinutes: 60 },
    { name: 'all', size: { percent: 100 } },
  ],
  maintenanceWindows: [{ cron: '0 1 * * *', durationMinutes: 240, timezone: 'Europe/London' }],
};

const viewExample: OtaCampaignView = {
  campaignId: '0b6f3c2a-1d4e-4f5a-8b9c-7d6e5f4a3b2c',
  name: 'em300 4.3.0',
  state: 'DRAFT',
  manifestId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  manifestDigest: '5f2b1c7e0d9a8b6c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d',
  classId: 'em300',
  sequenceNumber: 43,
  createdBy: 'key_4f2a',
  createdAt: '2026-12-03T09:00:00.000Z',
  submittedBy: null,
  decidedBy: null,
  decidedAt: null,
  phases: [
    {
      phase: 1,
      name: 'canary',
      state: 'PENDING',
      targets: 0,
      successThresholdPercent: 95,
      minSoakMinutes: 60,
      counts: {},
    },
    {
      phase: 2,
      name: 'all',
      state: 'PENDING',
      targets: 0,
      successThresholdPercent: 95,
      minSoakMinutes: 1440,
      counts: {},
    },
  ],
  counts: {},
  haltReason: null,
  definition: { name: 'em300 4.3.0' },
};

export const OTA_CAMPAIGN_CREATE = defineHttpRoute({
  name: 'ota-distributor.campaigns.create',
  audience: 'operator',
  method: 'POST',
  path: '/v1/campaigns',
  summary: 'Create a campaign (DRAFT) for an accepted manifest',
  description:
    'Validation errors name the field. Maintenance windows are checked here (422 INVALID_CRON, ' +
    'INVALID_TIMEZONE). Admin or operator.',
  request: campaignCreate,
  responses: {
    201: campaignView,
    400: invalid,
    401: unauthenticated,
    403: forbiddenWriter,
    404: httpError('MANIFEST_NOT_FOUND: no manifest of this tenant has that id'),
    409: httpError('MANIFEST_REVOKED: the manifest was revoked'),
    422: httpError(
      'INVALID_CRON, INVALID_TIMEZONE or INVALID_DURATION: a maintenance window (field named); ' +
        'SHADOW_TWIN_UNKNOWN: a shadow-run twin is no meter of the tenant and class (ids named)',
    ),
  },
  examples: [{ title: 'canary then all', request: createExample, status: 201, response: viewExample }],
});

export const OTA_CAMPAIGN_GET = defineHttpRoute({
  name: 'ota-distributor.campaigns.get',
  audience: 'operator',
  method: 'GET',
  path: '/v1/campaigns/:campaignId',
  summary: 'A campaign: state, per-phase and total counters by execution state, halt reason',
  params: { campaignId },
  responses: { 200: campaignView, 400: invalid, 401: unauthenticated, 404: notFound },
  examples: [
    { title: 'a draft', params: { campaignId: viewExample.campaignId }, status: 200, response: viewExample },
  ],
});

function decision(verb: 'submit' | 'approve' | 'deny', summary: string, description: string) {
  return {
    audience: 'operator' as const,
    method: 'POST' as const,
    summary,
    description,
    params: { campaignId },
    responses: {
      200: campaignView,
      400: invalid,
      401: unauthenticated,
      403: httpError(
        verb === 'submit'
          ? "FORBIDDEN: the API key's role may not do this (admin or operator only)"
          : "FORBIDDEN: auditors never decide; SAME_ACTOR: the campaign's creator cannot decide it",
      ),
      404: notFound,
      409: stateConflict,
    },
    examples: [
      {
        title: verb,
        params: { campaignId: viewExample.campaignId },
        status: 200 as const,
        response: {
          ...viewExample,
          state:
            verb === 'submit'
              ? ('PENDING_APPROVAL' as const)
              : verb === 'approve'
                ? ('APPROVED' as const)
                : ('DENIED' as const),
          submittedBy: 'key_4f2a',
          ...(verb !== 'submit' && { decidedBy: 'key_9c1d', decidedAt: '2026-12-03T09:30:00.000Z' }),
        },
      },
    ],
  };
}

export const OTA_CAMPAIGN_SUBMIT = defineHttpRoute({
  name: 'ota-distributor.campaigns.submit',
  path: '/v1/campaigns/:campaignId/submit',
  ...decision(
    'submit',
    'Submit a DRAFT campaign for approval',
    'DRAFT → PENDING_APPROVAL. Admin or operator.',
  ),
});
export const OTA_CAMPAIGN_APPROVE = defineHttpRoute({
  name: 'ota-distributor.campaigns.approve',
  path: '/v1/campaigns/:campaignId/approve',
  ...decision(
    'approve',
    'Approve a campaign pending approval',
    'PENDING_APPROVAL → APPROVED. Admin or operator other than the creator (403 SAME_ACTOR).',
  ),
});
export const OTA_CAMPAIGN_DENY = defineHttpRoute({
  name: 'ota-distributor.campaigns.deny',
  path: '/v1/campaigns/:campaignId/deny',
  ...decision(
    'deny',
    'Deny a campaign pending approval',
    'PENDING_APPROVAL → DENIED (final). Admin or operator other than the creator (403 SAME_ACTOR).',
  ),
});

/** Resume: a HALTED campaign resumes only when the operator acknowledges the halt (spec §6.4). */
export const campaignResume = z.strictObject({ acknowledgeHalt: z.boolean().default(false) });
export type OtaCampaignResume = z.output<typeof campaignResume>;

/** Cancel: graceful stops notifying and cancels what was not downloading yet; force also what was. */
export const campaignCancel = z.strictObject({ mode: z.enum(['graceful', 'force']).default('graceful') });
export type OtaCampaignCancel = z.output<typeof campaignCancel>;

function operation<V extends string>(options: {
  verb: V;
  summary: string;
  description: string;
  state: (typeof OTA_CAMPAIGN_STATES)[number];
  request?: z.ZodType;
  requestExample?: unknown;
  extra422?: string;
}) {
  return {
    name: `ota-distributor.campaigns.${options.verb}` as const,
    audience: 'operator' as const,
    method: 'POST' as const,
    path: `/v1/campaigns/:campaignId/${options.verb}` as const,
    summary: options.summary,
    description: `${options.description} Admin or operator; 409 CAMPAIGN_STATE_CONFLICT names the current state.`,
    params: { campaignId },
    ...(options.request && { request: options.request }),
    responses: {
      200: campaignView,
      400: invalid,
      401: unauthenticated,
      403: forbiddenWriter,
      404: notFound,
      409: stateConflict,
      ...((options.extra422 ? { 422: httpError(options.extra422) } : {}) as HttpResponses),
    },
    examples: [
      {
        title: options.verb,
        params: { campaignId: viewExample.campaignId },
        ...(options.requestExample !== undefined && { request: options.requestExample }),
        status: 200 as const,
        response: { ...viewExample, state: options.state },
      },
    ],
  };
}

const startOperation = operation({
  verb: 'start',
  summary: 'Start an approved campaign (or schedule it until its startAt)',
  description:
    'APPROVED → RUNNING, or SCHEDULED while startAt is in the future. Targets are planned ' +
    'then: ACTIVE meters of the class without an unfinished execution, stratified into the phases, ' +
    'each with a QUEUED execution; phase 1 opens and admission lets directives out at the rollout ' +
    'rate. The request waits for the plan a while (OTA_START_WAIT_MS, 20 s by default): 200 with the ' +
    'campaign RUNNING or SCHEDULED, or 202 with it still APPROVED and `planning` set (a large fleet): ' +
    'the plan goes on; poll the campaign. ' +
    '422 TARGET_QUERY_UNSUPPORTED when the query filters on what the registry projection lacks. ' +
    'With a shadow run the twins go first (phase 1 waits for all of them to succeed): 422 ' +
    'SHADOW_TWIN_UNKNOWN for a twin that is no ACTIVE meter of the tenant and class, 409 ' +
    'SHADOW_TWIN_BUSY for one with an unfinished execution, 409 SHADOW_TWIN_MISSING naming the ' +
    "targets' hardware revisions no twin reported.",
  state: 'RUNNING',
  extra422:
    'TARGET_QUERY_UNSUPPORTED: the target query names a filter the distributor cannot apply; ' +
    'SHADOW_TWIN_UNKNOWN: a twin is no ACTIVE meter of the tenant and class',
});
export const OTA_CAMPAIGN_START = defineHttpRoute({
  ...startOperation,
  responses: {
    ...startOperation.responses,
    202: campaignView,
  },
});
export const OTA_CAMPAIGN_PAUSE = defineHttpRoute(
  operation({
    verb: 'pause',
    summary: 'Pause a running campaign: no new directives until resumed',
    description: 'RUNNING → PAUSED. Meters already notified go on; queued ones wait.',
    state: 'PAUSED',
  }),
);
export const OTA_CAMPAIGN_RESUME = defineHttpRoute(
  operation({
    verb: 'resume',
    summary: 'Resume a paused campaign, or a halted one with the halt acknowledged',
    description:
      'PAUSED → RUNNING; HALTED → RUNNING only with {acknowledgeHalt: true} (422 HALT_NOT_ACKNOWLEDGED). ' +
      'A campaign halted because its manifest was revoked never resumes (409 MANIFEST_REVOKED), nor ' +
      'one whose shadow run failed (409 SHADOW_FAILED).',
    state: 'RUNNING',
    request: campaignResume,
    requestExample: { acknowledgeHalt: true },
    extra422: 'HALT_NOT_ACKNOWLEDGED: a halted campaign resumes only with acknowledgeHalt: true',
  }),
);
export const OTA_CAMPAIGN_CANCEL = defineHttpRoute(
  operation({
    verb: 'cancel',
    summary: 'Cancel a campaign (graceful | force)',
    description:
      '→ CANCELLING, then CANCELLED once no execution is unfinished. graceful: queued and notified ' +
      'executions are cancelled; force: also downloading, downloaded and verified ones. Installs under ' +
      'way always finish.',
    state: 'CANCELLING',
    request: campaignCancel,
    requestExample: { mode: 'force' },
  }),
);
export const OTA_CAMPAIGN_NEXT_PHASE = defineHttpRoute(
  operation({
    verb: 'next-phase',
    summary: 'Open the next phase now (or complete the campaign after the last)',
    description:
      'The open phase passes without its threshold and soak; the campaign must be RUNNING. The shadow ' +
      'run is never skipped: 409 SHADOW_RUN_PENDING until every twin succeeded.',
    state: 'RUNNING',
  }),
);
export const OTA_CAMPAIGN_RETRY_FAILED = defineHttpRoute(
  operation({
    verb: 'retry-failed',
    summary: "Re-queue the campaign's FAILED and TIMED_OUT executions under their next attempt",
    description:
      'Each keeps its id with attempt + 1 and goes through admission again; a device that meanwhile ' +
      'has another unfinished execution is left as it is. RUNNING or PAUSED.',
    state: 'RUNNING',
  }),
);

export const campaignDeviceView = z.object({
  deviceId,
  phase: z.number().int().min(1),
  executionId: z.string(),
  state: z.enum(OTA_EXECUTION_STATES),
  attempt: z.number().int().min(1),
  failureCode: otaFailureCode.nullable(),
  /** When admission let the directive out; null while queued behind the rate. */
  admittedAt: timestamp.nullable(),
  updatedAt: timestamp,
  /**
   * Present (true) on a shadow run's twin, listed only on request (`shadowRun=true`): the twin is in
   * no phase of the fleet, and `phase` is the one its run gates (1).
   */
  shadowRun: z.literal(true).optional(),
});
export type OtaCampaignDeviceView = z.infer<typeof campaignDeviceView>;

export const campaignDevicePage = z.object({
  items: z.array(campaignDeviceView),
  /** Pass as `cursor` for the next page; absent on the last. */
  next: z.string().optional(),
});

export const OTA_CAMPAIGN_DEVICES = defineHttpRoute({
  name: 'ota-distributor.campaigns.devices',
  audience: 'operator',
  method: 'GET',
  path: '/v1/campaigns/:campaignId/devices',
  summary: "A campaign's devices with their executions, by device id (keyset pages)",
  description:
    "The fleet's devices by default; with shadowRun=true the shadow run's twins instead (each with " +
    'shadowRun: true; they are in no phase, so phase is refused beside it).',
  params: { campaignId },
  query: z
    .strictObject({
      state: z.enum(OTA_EXECUTION_STATES).optional(),
      phase: z.coerce.number().int().min(1).max(64).optional(),
      /** true: the shadow run's twins (phase 0 inside), never mixed with the fleet's pages. */
      shadowRun: z.enum(['true', 'false']).optional(),
      cursor: deviceId.optional(),
      limit: z.coerce.number().int().min(1).max(1_000).default(100),
    })
    .refine((q) => q.shadowRun !== 'true' || q.phase === undefined, {
      path: ['phase'],
      message: 'twins are in no phase: not with shadowRun=true',
    }) as unknown as z.ZodType<Record<string, unknown>, Record<string, string>>,
  responses: { 200: campaignDevicePage, 400: invalid, 401: unauthenticated, 404: notFound },
  examples: [
    {
      title: 'first page',
      params: { campaignId: viewExample.campaignId },
      query: { limit: '1', phase: '1' },
      status: 200,
      response: {
        items: [
          {
            deviceId: 'MTR-000001',
            phase: 1,
            executionId: '5d8e2f4a-0b1c-4d2e-9f3a-6b7c8d9e0f1a',
            state: 'NOTIFIED',
            attempt: 1,
            failureCode: null,
            admittedAt: '2026-12-03T10:00:00.000Z',
            updatedAt: '2026-12-03T10:05:00.000Z',
          },
        ],
        next: 'MTR-000001',
      },
    },
    {
      title: "a shadow run's twins",
      params: { campaignId: viewExample.campaignId },
      query: { shadowRun: 'true' },
      status: 200,
      response: {
        items: [
          {
            deviceId: 'MTR-TWIN-A',
            phase: 1,
            executionId: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
            state: 'SUCCEEDED',
            attempt: 1,
            failureCode: null,
            admittedAt: '2026-12-03T09:50:00.000Z',
            updatedAt: '2026-12-03T09:55:00.000Z',
            shadowRun: true,
          },
        ],
      },
    },
  ],
});

const count = z.number().int().nonnegative();

/** What a campaign would do if started now (spec §6.1 simulate): exact counts, predicted duration. */
export const campaignSimulation = z.object({
  campaignId,
  classId: otaClassId,
  simulatedAt: timestamp,
  /** ACTIVE meters of the class the target selects, without an unfinished execution. */
  targets: count,
  /** Meters of the class the target names that start would leave out, by reason. */
  excluded: z.object({ notActive: count, executionInProgress: count, atOrAboveSequence: count }),
  /** The targets by the manifest they reported running (null: never reported one). */
  byInstalledManifest: z.array(z.object({ manifestDigest: sha256Hex.nullable(), devices: count })),
  /**
   * The targets by the hardware revision they reported at check-in (null: never reported one), with
   * how many of them each phase takes (index as in phases): membership takes a share of every revision.
   * Always sent; optional in the schema only because it was added after the route was published.
   */
  byHardwareRevision: z
    .array(
      z.object({ hardwareRevision: z.string().nullable(), devices: count, phaseDevices: z.array(count) }),
    )
    .optional(),
  /**
   * With a shadow run: the targets' hardware revisions a twin reported (covered) and those none did
   * (missing: start answers 409 SHADOW_TWIN_MISSING), and the named twins that are no ACTIVE meter of
   * the tenant and class (unknownTwins: start answers 422).
   */
  shadow: z
    .object({
      covered: z.array(z.string().nullable()),
      missing: z.array(z.string().nullable()),
      unknownTwins: z.array(z.string()),
    })
    .optional(),
  /** With delta components: the targets not running every precursor are refused. */
  compatibility: z.object({ compatible: count, refusedWrongPrecursor: count }),
  phases: z.array(
    z.object({
      phase: z.number().int().min(1),
      name: z.string(),
      devices: count,
      notifyMinutes: count,
      soakMinutes: count,
    }),
  ),
  /** Device ids a phase names that are not targets (unknown, held, busy, another class). */
  explicitNotTargeted: count,
  bytes: z.object({
    perDevice: count,
    total: count,
    byGateway: z.array(z.object({ gatewayId: z.string().nullable(), devices: count, bytes: count })),
  }),
  duration: z.object({
    notifyMinutes: count,
    soakMinutes: count,
    totalMinutes: count,
    firstInstallWindowAt: timestamp.nullable(),
  }),
  /** What the prediction takes for granted. */
  assumptions: z.array(z.string()),
});
export type OtaCampaignSimulation = z.infer<typeof campaignSimulation>;

const simulationExample: OtaCampaignSimulation = {
  campaignId: viewExample.campaignId,
  classId: 'em300',
  simulatedAt: '2026-12-03T10:00:00.000Z',
  targets: 1000,
  excluded: { notActive: 3, executionInProgress: 0, atOrAboveSequence: 12 },
  byInstalledManifest: [{ manifestDigest: 'aa'.repeat(32), devices: 1000 }],
  byHardwareRevision: [
    { hardwareRevision: 'rev-b', devices: 600, phaseDevices: [6, 594] },
    { hardwareRevision: 'rev-a', devices: 400, phaseDevices: [4, 396] },
  ],
  compatibility: { compatible: 1000, refusedWrongPrecursor: 0 },
  phases: [
    { phase: 1, name: 'canary', devices: 10, notifyMinutes: 1, soakMinutes: 60 },
    { phase: 2, name: 'all', devices: 990, notifyMinutes: 1, soakMinutes: 0 },
  ],
  explicitNotTargeted: 0,
  bytes: {
    perDevice: 6291456,
    total: 6291456000,
    byGateway: [{ gatewayId: null, devices: 1000, bytes: 6291456000 }],
  },
  duration: { notifyMinutes: 2, soakMinutes: 60, totalMinutes: 62, firstInstallWindowAt: null },
  assumptions: ['every notified meter succeeds (best case)'],
};

export const OTA_CAMPAIGN_SIMULATE = defineHttpRoute({
  name: 'ota-distributor.campaigns.simulate',
  audience: 'operator',
  method: 'POST',
  path: '/v1/campaigns/:campaignId/simulate',
  summary: 'What the campaign would target and do if started now; nothing is written',
  description:
    'Exact target counts by installed firmware, meters left out and why, compatibility with a ' +
    "delta's precursor, each phase's members and bytes; predicted minutes to notify each phase at the " +
    'rollout rate plus soak times, and the first maintenance window. Any role; any state before RUNNING ' +
    '(409 CAMPAIGN_STATE_CONFLICT after). 422 TARGET_QUERY_UNSUPPORTED as for start.',
  params: { campaignId },
  responses: {
    200: campaignSimulation,
    400: invalid,
    401: unauthenticated,
    404: notFound,
    409: stateConflict,
    422: httpError('TARGET_QUERY_UNSUPPORTED: the target query names a filter the distributor cannot apply'),
  },
  examples: [
    {
      title: 'a draft',
      params: { campaignId: viewExample.campaignId },
      status: 200,
      response: simulationExample,
    },
  ],
});

export const OTA_CAMPAIGN_ROUTES = [
  OTA_CAMPAIGN_CREATE,
  OTA_CAMPAIGN_GET,
  OTA_CAMPAIGN_SUBMIT,
  OTA_CAMPAIGN_APPROVE,
  OTA_CAMPAIGN_DENY,
  OTA_CAMPAIGN_START,
  OTA_CAMPAIGN_PAUSE,
  OTA_CAMPAIGN_RESUME,
  OTA_CAMPAIGN_CANCEL,
  OTA_CAMPAIGN_NEXT_PHASE,
  OTA_CAMPAIGN_RETRY_FAILED,
  OTA_CAMPAIGN_DEVICES,
  OTA_CAMPAIGN_SIMULATE,
] as const;
