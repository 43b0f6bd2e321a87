import type {
  EnrollmentClient,
  OtaDistributorClient,
  OtaDistributorOperations,
  PrivacyClient,
} from '@meterkeep/client';

export type Service = 'enrollment' | 'privacy' | 'ota-distributor';

/** The typed clients, made on first use from the environment (only the command's service is needed). */
export interface Clients {
  readonly enrollment: EnrollmentClient;
  readonly privacy: PrivacyClient;
  readonly ota: OtaDistributorClient;
}

/** A command's inputs: its positionals by name, its options, and files named on the command line. */
export interface Inputs {
  args: Record<string, string>;
  opts: Record<string, string | undefined>;
  readText(file: string): Promise<string>;
  readJson(file: string): Promise<unknown>;
}

export interface Command {
  group: string;
  verb: string;
  /** Positional arguments, in order. */
  args: string[];
  /** `--name value` options it takes; `required` ones must be given. */
  options?: string[];
  required?: string[];
  service: Service;
  summary: string;
  /** A field printed alone on stdout (a new API key), everything else going to stderr. */
  secretField?: string;
  run(clients: Clients, inputs: Inputs): Promise<unknown>;
}

/** The JSON body a route of the distributor takes; a file's JSON is checked by the server, as any input. */
type JsonBody<K extends keyof OtaDistributorOperations> = OtaDistributorOperations[K] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

const p = <K extends string>(name: K, value: string) => ({ path: { [name]: value } as Record<K, string> });

const opt = (inputs: Inputs, name: string) => inputs.opts[name];
const limit = (inputs: Inputs) =>
  opt(inputs, 'limit') === undefined ? undefined : Number(opt(inputs, 'limit'));

const ROLES = ['admin', 'operator', 'auditor'] as const;
const DEVICE_STATES = ['MANUFACTURED', 'ENROLLED', 'ACTIVE', 'SUSPENDED', 'DECOMMISSIONED'] as const;

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** A command line that cannot be run: exit 2 with the usage. */
export class UsageError extends Error {}

const enrollmentCommands: Command[] = [
  {
    group: 'api-keys',
    verb: 'list',
    args: [],
    service: 'enrollment',
    summary: "the tenant's API keys (never their secrets)",
    run: ({ enrollment: c }) => c.ok(c.api.GET('/v1/api-keys')),
  },
  {
    group: 'api-keys',
    verb: 'create',
    args: [],
    options: ['role', 'name'],
    required: ['role'],
    service: 'enrollment',
    summary: 'a new key (--role admin|operator|auditor); printed once on stdout',
    secretField: 'apiKey',
    run: ({ enrollment: c }, i) =>
      c.ok(
        c.api.POST('/v1/api-keys', {
          body: {
            role: oneOf('role', opt(i, 'role'), ROLES)!,
            ...(opt(i, 'name') !== undefined && { name: opt(i, 'name') }),
          },
        }),
      ),
  },
  {
    group: 'api-keys',
    verb: 'revoke',
    args: ['keyId'],
    service: 'enrollment',
    summary: 'revoke a key; refused from the next request on',
    run: ({ enrollment: c }, i) =>
      c.ok(c.api.DELETE('/v1/api-keys/{keyId}', { params: p('keyId', i.args.keyId!) })),
  },
  {
    group: 'cas',
    verb: 'list',
    args: [],
    service: 'enrollment',
    summary: "the tenant's manufacturer CAs",
    run: ({ enrollment: c }) => c.ok(c.api.GET('/v1/manufacturer-cas')),
  },
  {
    group: 'cas',
    verb: 'get',
    args: ['caId'],
    service: 'enrollment',
    summary: 'one manufacturer CA',
    run: ({ enrollment: c }, i) =>
      c.ok(c.api.GET('/v1/manufacturer-cas/{caId}', { params: p('caId', i.args.caId!) })),
  },
  {
    group: 'cas',
    verb: 'register',
    args: [],
    options: ['cert'],
    required: ['cert'],
    service: 'enrollment',
    summary: 'register an OEM CA (--cert PEM file); answers the verification code',
    run: async ({ enrollment: c }, i) =>
      c.ok(
        c.api.POST('/v1/manufacturer-cas', { body: { certificatePem: await i.readText(opt(i, 'cert')!) } }),
      ),
  },
  {
    group: 'cas',
    verb: 'verify',
    args: ['caId'],
    options: ['cert'],
    required: ['cert'],
    service: 'enrollment',
    summary: 'proof of possession (--cert: a certificate the CA signed, CN = the code)',
    run: async ({ enrollment: c }, i) =>
      c.ok(
        c.api.POST('/v1/manufacturer-cas/{caId}/verification', {
          params: p('caId', i.args.caId!),
          body: { certificatePem: await i.readText(opt(i, 'cert')!) },
        }),
      ),
  },
  {
    group: 'cas',
    verb: 'disable',
    args: ['caId'],
    service: 'enrollment',
    summary: 'disable a CA: its meters can no longer bootstrap',
    run: ({ enrollment: c }, i) =>
      c.ok(c.api.POST('/v1/manufacturer-cas/{caId}/disable', { params: p('caId', i.args.caId!) })),
  },
  {
    group: 'enrollment-lists',
    verb: 'upload',
    args: ['file'],
    options: ['format'],
    service: 'enrollment',
    summary: 'upload a factory enrollment list (--format csv|ndjson; by default from the file name)',
    run: async ({ enrollment: c }, i) => {
      const file = i.args.file!;
      const format =
        oneOf('format', opt(i, 'format'), ['csv', 'ndjson'] as const) ??
        (/\.(ndjson|jsonl)$/i.test(file) ? 'ndjson' : 'csv');
      const contentType = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
      return c.ok(
        c.api.POST('/v1/enrollment-lists', {
          params: { header: { 'content-type': contentType } },
          body: await i.readText(file),
          bodySerializer: (text: string) => text,
        }),
      );
    },
  },
  {
    group: 'enrollment-lists',
    verb: 'get',
    args: ['uploadId'],
    service: 'enrollment',
    summary: "an upload's report",
    run: ({ enrollment: c }, i) =>
      c.ok(c.api.GET('/v1/enrollment-lists/{uploadId}', { params: p('uploadId', i.args.uploadId!) })),
  },
  {
    group: 'devices',
    verb: 'list',
    args: [],
    options: ['state', 'model', 'batch-id', 'limit', 'cursor'],
    service: 'enrollment',
    summary: 'the registry, a page at a time (--state, --model, --batch-id, --limit, --cursor)',
    run: ({ enrollment: c }, i) =>
      c.ok(
        c.api.GET('/v1/devices', {
          params: {
            query: {
              state: oneOf('state', opt(i, 'state'), DEVICE_STATES),
              model: opt(i, 'model'),
              batchId: opt(i, 'batch-id'),
              limit: limit(i),
              cursor: opt(i, 'cursor'),
            },
          },
        }),
      ),
  },
  {
    group: 'devices',
    verb: 'get',
    args: ['endpoint'],
    service: 'enrollment',
    summary: 'one meter of the registry',
    run: ({ enrollment: c }, i) =>
      c.ok(c.api.GET('/v1/devices/{endpoint}', { params: p('endpoint', i.args.endpoint!) })),
  },
  {
    group: 'devices',
    verb: 'claim',
    args: ['endpoint'],
    options: ['certificate-sha256', 'model', 'batch-id', 'claim-expires-at'],
    service: 'enrollment',
    summary: 'claim one meter by its factory certificate (--certificate-sha256, --claim-expires-at)',
    run: ({ enrollment: c }, i) =>
      c.ok(
        c.api.POST('/v1/devices/{endpoint}/claim', {
          params: p('endpoint', i.args.endpoint!),
          body: {
            certificateSha256: opt(i, 'certificate-sha256'),
            model: opt(i, 'model'),
            batchId: opt(i, 'batch-id'),
            claimExpiresAt: opt(i, 'claim-expires-at'),
          },
        }),
      ),
  },
  ...(['suspend', 'resume', 'decommission'] as const).map((verb): Command => ({
    group: 'devices',
    verb,
    args: ['endpoint'],
    service: 'enrollment',
    summary: {
      suspend: 'ACTIVE → SUSPENDED',
      resume: 'SUSPENDED → ACTIVE',
      decommission: 'ACTIVE or SUSPENDED → DECOMMISSIONED (final)',
    }[verb],
    run: ({ enrollment: c }, i) =>
      c.ok(c.api.POST(`/v1/devices/{endpoint}/${verb}`, { params: p('endpoint', i.args.endpoint!) })),
  })),
  {
    group: 'devices',
    verb: 'revoke-factory-credential',
    args: ['endpoint'],
    service: 'enrollment',
    summary: "revoke a meter's factory certificate or PSK: bootstrap refuses it from then on",
    run: ({ enrollment: c }, i) =>
      c.ok(
        c.api.POST('/v1/devices/{endpoint}/factory-credential/revocation', {
          params: p('endpoint', i.args.endpoint!),
        }),
      ),
  },
];

const privacyCommands: Command[] = [
  {
    group: 'occupancies',
    verb: 'list',
    args: [],
    options: ['meter', 'limit', 'cursor'],
    service: 'privacy',
    summary: 'occupancies, a page at a time (--meter, --limit, --cursor)',
    run: ({ privacy: c }, i) =>
      c.ok(
        c.api.GET('/v1/occupancies', {
          params: { query: { meterId: opt(i, 'meter'), limit: limit(i), cursor: opt(i, 'cursor') } },
        }),
      ),
  },
  {
    group: 'occupancies',
    verb: 'get',
    args: ['occupancyId'],
    service: 'privacy',
    summary: 'one occupancy',
    run: ({ privacy: c }, i) =>
      c.ok(c.api.GET('/v1/occupancies/{occupancyId}', { params: p('occupancyId', i.args.occupancyId!) })),
  },
  {
    group: 'occupancies',
    verb: 'open',
    args: [],
    options: ['meter', 'subject-ref', 'from', 'consumer-class', 'contract-date'],
    required: ['meter', 'subject-ref', 'from'],
    service: 'privacy',
    summary:
      'open an occupancy of a meter (--meter, --subject-ref, --from ISO-8601; --consumer-class domestic|microbusiness, --contract-date) with its own data key',
    run: ({ privacy: c }, i) =>
      c.ok(
        c.api.POST('/v1/occupancies', {
          body: {
            meterId: opt(i, 'meter')!,
            subjectRef: opt(i, 'subject-ref')!,
            from: opt(i, 'from')!,
            // The server validates the class; what it refuses comes back with its code.
            consumerClass: (opt(i, 'consumer-class') ?? 'domestic') as 'domestic' | 'microbusiness',
            ...(opt(i, 'contract-date') !== undefined && { contractDate: opt(i, 'contract-date') }),
          },
        }),
      ),
  },
  {
    group: 'occupancies',
    verb: 'close',
    args: ['occupancyId'],
    options: ['to'],
    required: ['to'],
    service: 'privacy',
    summary: 'close an occupancy (--to ISO-8601, exclusive)',
    run: ({ privacy: c }, i) =>
      c.ok(
        c.api.POST('/v1/occupancies/{occupancyId}/close', {
          params: p('occupancyId', i.args.occupancyId!),
          body: { to: opt(i, 'to')! },
        }),
      ),
  },
  {
    group: 'data-keys',
    verb: 'destroy',
    args: ['keyId'],
    service: 'privacy',
    summary: 'destroy a data key (crypto-shredding; final)',
    run: ({ privacy: c }, i) =>
      c.ok(c.api.POST('/v1/data-keys/{keyId}/destroy', { params: p('keyId', i.args.keyId!) })),
  },
];

const otaCommands: Command[] = [
  {
    group: 'update-authorities',
    verb: 'list',
    args: [],
    service: 'ota-distributor',
    summary: "the tenant's update authorities",
    run: ({ ota: c }) => c.ok(c.api.GET('/v1/firmware/update-authorities')),
  },
  {
    group: 'update-authorities',
    verb: 'register',
    args: [],
    options: ['public-key'],
    required: ['public-key'],
    service: 'ota-distributor',
    summary: 'register an update authority (--public-key: its P-256 SPKI PEM)',
    run: async ({ ota: c }, i) =>
      c.ok(
        c.api.POST('/v1/firmware/update-authorities', {
          body: { publicKeyPem: await i.readText(opt(i, 'public-key')!) },
        }),
      ),
  },
  {
    group: 'update-authorities',
    verb: 'revoke',
    args: ['keyId'],
    service: 'ota-distributor',
    summary: 'revoke an update authority',
    run: ({ ota: c }, i) =>
      c.ok(
        c.api.POST('/v1/firmware/update-authorities/{keyId}/revoke', { params: p('keyId', i.args.keyId!) }),
      ),
  },
  {
    group: 'device-classes',
    verb: 'put',
    args: ['classId'],
    options: ['body'],
    required: ['body'],
    service: 'ota-distributor',
    summary: 'define a device class (--body JSON file: vendorId, maxImageBytes)',
    run: async ({ ota: c }, i) =>
      c.ok(
        c.api.PUT('/v1/firmware/classes/{classId}', {
          params: p('classId', i.args.classId!),
          body: (await i.readJson(opt(i, 'body')!)) as JsonBody<'DeviceClassesController_put'>,
        }),
      ),
  },
  {
    group: 'images',
    verb: 'create',
    args: [],
    options: ['body'],
    required: ['body'],
    service: 'ota-distributor',
    summary: 'start an image upload (--body JSON file); answers presigned part URLs',
    run: async ({ ota: c }, i) =>
      c.ok(
        c.api.POST('/v1/firmware/images', {
          body: (await i.readJson(opt(i, 'body')!)) as JsonBody<'ImagesController_create'>,
        }),
      ),
  },
  {
    group: 'images',
    verb: 'complete',
    args: ['imageId'],
    options: ['body'],
    required: ['body'],
    service: 'ota-distributor',
    summary: 'complete an image upload (--body JSON file: the parts)',
    run: async ({ ota: c }, i) =>
      c.ok(
        c.api.POST('/v1/firmware/images/{imageId}/complete', {
          params: p('imageId', i.args.imageId!),
          body: (await i.readJson(opt(i, 'body')!)) as JsonBody<'ImagesController_complete'>,
        }),
      ),
  },
  {
    group: 'images',
    verb: 'get',
    args: ['imageId'],
    service: 'ota-distributor',
    summary: 'one firmware image',
    run: ({ ota: c }, i) =>
      c.ok(c.api.GET('/v1/firmware/images/{imageId}', { params: p('imageId', i.args.imageId!) })),
  },
  {
    group: 'manifests',
    verb: 'submit',
    args: ['envelope'],
    service: 'ota-distributor',
    summary: 'submit a manifest envelope signed offline (a JSON file, as firmware-signer writes it)',
    run: async ({ ota: c }, i) =>
      c.ok(
        c.api.POST('/v1/firmware/manifests', {
          body: (await i.readJson(i.args.envelope!)) as JsonBody<'ManifestsController_accept'>,
        }),
      ),
  },
  {
    group: 'manifests',
    verb: 'get',
    args: ['manifestId'],
    service: 'ota-distributor',
    summary: 'one manifest',
    run: ({ ota: c }, i) =>
      c.ok(c.api.GET('/v1/firmware/manifests/{manifestId}', { params: p('manifestId', i.args.manifestId!) })),
  },
  {
    group: 'manifests',
    verb: 'revoke',
    args: ['manifestId'],
    service: 'ota-distributor',
    summary: 'revoke a manifest',
    run: ({ ota: c }, i) =>
      c.ok(
        c.api.POST('/v1/firmware/manifests/{manifestId}/revoke', {
          params: p('manifestId', i.args.manifestId!),
        }),
      ),
  },
  {
    group: 'deployments',
    verb: 'create',
    args: [],
    options: ['body'],
    required: ['body'],
    service: 'ota-distributor',
    summary: 'deploy a manifest to devices (--body JSON file: manifestId, deviceIds, ...)',
    run: async ({ ota: c }, i) =>
      c.ok(
        c.api.POST('/v1/firmware/deployments', {
          body: (await i.readJson(opt(i, 'body')!)) as JsonBody<'DeploymentsController_createDeployment'>,
        }),
      ),
  },
  {
    group: 'deployments',
    verb: 'get',
    args: ['deploymentId'],
    service: 'ota-distributor',
    summary: 'one deployment and its counts',
    run: ({ ota: c }, i) =>
      c.ok(
        c.api.GET('/v1/firmware/deployments/{deploymentId}', {
          params: p('deploymentId', i.args.deploymentId!),
        }),
      ),
  },
  {
    group: 'deployments',
    verb: 'executions',
    args: ['deploymentId'],
    service: 'ota-distributor',
    summary: "a deployment's executions, one per device",
    run: ({ ota: c }, i) =>
      c.ok(
        c.api.GET('/v1/firmware/deployments/{deploymentId}/executions', {
          params: p('deploymentId', i.args.deploymentId!),
        }),
      ),
  },
  {
    group: 'devices',
    verb: 'firmware',
    args: ['deviceId'],
    service: 'ota-distributor',
    summary: "a meter's firmware as the distributor knows it",
    run: ({ ota: c }, i) =>
      c.ok(c.api.GET('/v1/firmware/devices/{deviceId}', { params: p('deviceId', i.args.deviceId!) })),
  },
];

export const COMMANDS: readonly Command[] = [...enrollmentCommands, ...privacyCommands, ...otaCommands];
