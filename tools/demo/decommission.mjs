// End of a meter's life: the operator decommissions it in enrollment; bootstrap refuses and revokes its
// credentials, the distributor drops its firmware work, privacy erases its occupant under the
// tenant's policy; enrollment signs the record onto its audit chain. An auditor then checks the chain
// of custody (factory batch, enrollment, bootstrap, certificates, firmware receipts, decommission)
// from raw records with `enrollment verify-decommission`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DemoError, api, runCliStatus, say } from './run.mjs';
import { poll } from './subject-rights.mjs';

export async function decommissionMeter({
  enrollmentUrl,
  privacyUrl,
  apiKey,
  meterId,
  occupancy,
  dir,
  recordPublicKeyFile,
  certificatePublicKeyFile,
  verifierEnv,
}) {
  const started = performance.now();
  const begun = await api(enrollmentUrl, apiKey, 'POST', `/v1/devices/${meterId}/decommission`);
  const view = await poll(
    async () => {
      const answer = await api(enrollmentUrl, apiKey, 'GET', `/v1/devices/${meterId}/decommission`);
      return answer.state === 'RECORDED' ? answer : undefined;
    },
    { what: `the decommission of ${meterId} RECORDED`, timeoutMs: 120_000 },
  );
  const took = ((performance.now() - started) / 1000).toFixed(1);
  say(
    `enrollment: ${meterId} ${begun.state}; decommission RECORDED in ${took} s: ` +
      view.steps.map((s) => `${s.service} ${s.outcome}`).join(', ') +
      ` (record digest ${String(view.recordDigest).slice(0, 23)}…)`,
  );
  const privacyStep = view.record.steps.find((s) => s.service === 'privacy');
  const recordFile = join(dir, `decommission-${meterId}.json`);
  writeFileSync(recordFile, JSON.stringify(view, null, 2));
  const args = ['verify-decommission', '--record', recordFile, '--public-key', recordPublicKeyFile];
  const erasureId = privacyStep?.facts?.erasureId;
  if (erasureId) {
    const certificate = await api(
      privacyUrl,
      apiKey,
      'GET',
      `/v1/subjects/${encodeURIComponent(occupancy.subjectRef)}/erasures/${erasureId}/certificate`,
    );
    const certificateFile = join(dir, `erasure-${erasureId}.json`);
    writeFileSync(certificateFile, JSON.stringify(certificate, null, 2));
    args.push('--erasure-certificate', certificateFile, '--erasure-public-key', certificatePublicKeyFile);
    say(
      `privacy: its occupant erased under the tenant's policy (${privacyStep.facts.policy}), certificate ${certificate.certificateId}`,
    );
  }
  const { status, stdout } = runCliStatus('enrollment', args, { entry: 'cli', env: verifierEnv });
  say(
    `auditor: npm run enrollment:verify-decommission -- --record ${recordFile} --public-key … --erasure-certificate …`,
  );
  for (const line of stdout.trim().split('\n')) say(`  ${line}`);
  if (status !== 0 || !/^VERIFIED decommission /m.test(stdout))
    throw new DemoError(`the chain of custody of ${meterId} did not verify (exit ${status})`);
}
