import { Injectable } from '@nestjs/common';
import type { OtaCampaignDefinition, OtaCampaignSimulation } from '@meterkeep/contracts';
import type { Caller } from '@meterkeep/service-runtime';
import type { ManifestComponentRecord } from '../core/database';
import { installedDigestOf, isDelta } from '../device-api/delta-eligibility';
import { ManifestsRepository } from '../manifests/manifests.repository';
import { CampaignErrors } from './campaigns.errors';
import { CampaignsRepository, type TwinRow } from './campaigns.repository';
import { fitTwins, shadowCoverage } from './domain/shadow';
import { simulateCampaign } from './domain/simulation';
import type { CampaignState } from './domain/state-machines';
import { UNSUPPORTED_FILTERS } from './start-campaign.use-case';

/** Before it runs a campaign can be simulated; after, its own counters say more. */
const SIMULATED_STATES: readonly CampaignState[] = ['DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED'];

/**
 * What a campaign would do if started now (spec §6.1), read from the registry projection with the
 * queries start uses, written nowhere. A delta's compatibility is judged as check-in judges it
 * (DeltaEligibility): the manifest the meter reported running, else what its receipts proved.
 */
@Injectable()
export class SimulateCampaignUseCase {
  constructor(
    private readonly campaigns: CampaignsRepository,
    private readonly manifests: ManifestsRepository,
  ) {}

  async execute(caller: Caller, campaignId: string): Promise<OtaCampaignSimulation> {
    const now = new Date();
    const row = await this.campaigns.find(caller.tenantId, campaignId);
    if (!row) throw CampaignErrors.campaignNotFound();
    if (!SIMULATED_STATES.includes(row.state)) throw CampaignErrors.stateConflict(row.state, 'simulate');
    const body = row.body as OtaCampaignDefinition;
    for (const filter of UNSUPPORTED_FILTERS)
      if (body.target.query?.[filter] !== undefined) throw CampaignErrors.targetUnsupported(filter);

    const twins = body.shadowRun?.twins ?? [];
    const [targets, excluded, manifest, twinRows] = await Promise.all([
      this.campaigns.targetsWithFirmware(caller.tenantId, row.class_id, body.target, twins),
      this.campaigns.excludedFromTargets(caller.tenantId, row.class_id, body.target, twins),
      this.manifests.findByDigest(undefined, caller.tenantId, row.manifest_digest),
      this.campaigns.twins(this.campaigns.reader, caller.tenantId, twins),
    ]);
    if (!manifest) throw CampaignErrors.manifestNotFound();
    const deltas = manifest.components.filter(isDelta);
    const onPrecursor = await this.precursorCheck(caller.tenantId, targets, deltas);
    const { neverAdmitted, ...simulation } = simulateCampaign({
      campaignId,
      targets: targets.map((t) => ({
        deviceId: t.device_id,
        installedManifestDigest: t.reported_manifest_digest,
        onPrecursor: onPrecursor(t.device_id, t.reported_manifest_digest),
        gatewayId: t.gateway_id,
        hardwareRevision: t.hardware_revision,
      })),
      phases: body.phases,
      bytesPerDevice: manifest.components.reduce((n, c) => n + c.size, 0),
      hasDelta: deltas.length > 0,
      rollout: body.rollout,
      maintenanceWindows: body.maintenanceWindows,
      startAt: body.startAt && new Date(body.startAt) > now ? new Date(body.startAt) : now,
    });
    return {
      campaignId,
      classId: row.class_id,
      simulatedAt: now.toISOString(),
      excluded,
      ...simulation,
      ...(body.shadowRun && { shadow: this.shadowCoverage(row.class_id, targets, twins, twinRows) }),
      assumptions: [
        'every notified meter succeeds (the best case for an exponential rate counted on successes)',
        'a phase opens right after the previous one soaked (installs take no time)',
        'each gateway admits at most its concurrency per minute (a meter frees its slot within the minute) ' +
          'and its bytes per sliding hour, as admission does',
        ...(neverAdmitted > 0
          ? [
              `${neverAdmitted} members are left out of the minutes: one download exceeds their gateway's ` +
                'bytes per hour, admission never lets them out',
            ]
          : []),
      ],
    };
  }

  /** What start would say of the twins: the revisions they cover and miss, the twins it refuses. */
  private shadowCoverage(
    classId: string,
    targets: readonly { hardware_revision: string | null }[],
    twins: readonly string[],
    rows: readonly TwinRow[],
  ): NonNullable<OtaCampaignSimulation['shadow']> {
    const { fit, unknown } = fitTwins(classId, twins, rows);
    return {
      ...shadowCoverage(
        targets.map((t) => t.hardware_revision),
        fit.map((t) => t.hardware_revision),
      ),
      unknownTwins: unknown,
    };
  }

  /** Whether a meter runs every delta component's precursor, by its report, else by its receipts. */
  private async precursorCheck(
    tenantId: string,
    targets: readonly { device_id: string; reported_manifest_digest: string | null }[],
    deltas: readonly ManifestComponentRecord[],
  ): Promise<(deviceId: string, reported: string | null) => boolean> {
    if (deltas.length === 0) return () => true;
    const reportedDigests = [
      ...new Set(targets.map((t) => t.reported_manifest_digest).filter((d) => d !== null)),
    ];
    const running = new Map<string, Map<string, string>>();
    for (const digest of reportedDigests) {
      const reported = await this.manifests.findByDigest(undefined, tenantId, digest);
      running.set(digest, new Map((reported?.components ?? []).map((c) => [c.id, installedDigestOf(c)])));
    }
    const unreported = targets.filter((t) => t.reported_manifest_digest === null).map((t) => t.device_id);
    const proved = new Map<string, Map<string, string>>();
    for (const row of await this.campaigns.installedComponents(
      tenantId,
      unreported,
      deltas.map((d) => d.id),
    )) {
      const components = proved.get(row.device_id) ?? new Map<string, string>();
      components.set(row.component, row.digest);
      proved.set(row.device_id, components);
    }
    return (deviceId, reported) => {
      const components = reported === null ? proved.get(deviceId) : running.get(reported);
      return deltas.every((d) => components?.get(d.id) === d.precursorDigest!.value);
    };
  }
}
