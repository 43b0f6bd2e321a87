// The firmware story: the utility signs an image offline with its update authority (the key whose
// public half the factory put in every meter), uploads it through presigned multipart S3 URLs,
// deploys the signed manifest to ten meters; they check in over mutual TLS, download from S3, verify
// both signatures and the digest, install to the other slot, reboot, confirm and send a signed receipt.
// One meter is given a tampered image and refuses it with its code. The registry shows the result.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DemoError, api, runCli, say } from './run.mjs';

const MIB = 1024 * 1024;
export const CLASS_ID = 'em300';
export const VENDOR_ID = 'demo-meters';

/** The update authority's key pair, made on the utility's offline signing machine (the demo's dir). */
export function makeUpdateAuthority(dir) {
  const keyDir = join(dir, 'update-authority');
  runCli('firmware-signer', ['keygen', '--out', keyDir]);
  return { privateKey: join(keyDir, 'private.pem'), publicKey: join(keyDir, 'public.pem') };
}

/** Uploads an image through its presigned part URLs and asks the distributor to verify it. */
export async function uploadImage(otaUrl, apiKey, component, bytes) {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const declared = await api(otaUrl, apiKey, 'POST', '/v1/firmware/images', {
    json: { classId: CLASS_ID, component, size: bytes.length, sha256 },
  });
  if (declared.upload) {
    const parts = [];
    let offset = 0;
    for (const part of declared.upload.parts) {
      const put = await fetch(part.url, { method: 'PUT', body: bytes.subarray(offset, offset + part.size) });
      if (!put.ok) throw new DemoError(`S3 refused part ${part.partNumber} (${put.status})`);
      parts.push({ partNumber: part.partNumber, etag: put.headers.get('etag') });
      offset += part.size;
    }
    const done = await api(otaUrl, apiKey, 'POST', `/v1/firmware/images/${declared.image.imageId}/complete`, {
      json: { parts },
    });
    if (done.state !== 'verified') throw new DemoError(`the image is ${done.state} (${done.refusalCode})`);
  }
  return { sha256, size: bytes.length };
}

export async function firmwareUpdate({ otaUrl, apiKey, dir, authority, statesDir, meterIds, tampered = 1 }) {
  const work = join(dir, 'firmware');
  mkdirSync(work, { recursive: true, mode: 0o700 });

  say(`utility: registering device class ${CLASS_ID} and its update authority (public key only)`);
  await api(otaUrl, apiKey, 'PUT', `/v1/firmware/classes/${CLASS_ID}`, { json: { vendorId: VENDOR_ID } });
  await api(otaUrl, apiKey, 'POST', '/v1/firmware/update-authorities', {
    json: { publicKeyPem: readFileSync(authority.publicKey, 'utf8') },
  });

  // A release build: 6 MiB, uploaded in presigned parts; the distributor recomputes its SHA-256.
  const image = randomBytes(6 * MIB);
  say(`utility: uploading app image 2.0.0 (${image.length / MIB} MiB) through presigned multipart S3 URLs`);
  const app = await uploadImage(otaUrl, apiKey, 'app', image);
  say(`ota-distributor: image verified server-side, sha256 ${app.sha256.slice(0, 16)}…`);

  const manifest = releaseManifest({ sequenceNumber: 1, version: '2.0.0', app });
  const accepted = await signAndSubmit({ otaUrl, apiKey, work, authority, manifest });
  say(`ota-distributor: manifest accepted (sequence ${accepted.sequenceNumber}, ${accepted.manifestId})`);

  // meter-sim's fleet is in endpoint-name order: --limit and --ota-tamper-meters take its first meters.
  const targets = [...meterIds].sort().slice(0, 10);
  const deployment = await api(otaUrl, apiKey, 'POST', '/v1/firmware/deployments', {
    json: { manifestId: accepted.manifestId, deviceIds: targets },
  });
  say(`utility: deployed to ${targets.length} meters (deployment ${deployment.deploymentId})`);

  say(
    `meter-sim: ${targets.length} meters check in over mutual TLS; the first ${tampered} gets a tampered image`,
  );
  const run = JSON.parse(
    runCli('meter-sim', [
      'fleet',
      'update',
      '--state',
      statesDir,
      '--limit',
      String(targets.length),
      '--until-idle',
      '--ota-poll-seconds',
      '1',
      '--ota-tamper-meters',
      String(tampered),
      '--json',
    ]),
  );
  console.log('');
  console.log(`${'meter'.padEnd(24)}${'outcome'.padEnd(12)}${'version'.padEnd(10)}code`);
  for (const meter of run.devices)
    console.log(
      `${meter.deviceId.padEnd(24)}${meter.outcome.padEnd(12)}${(meter.installedVersion ?? '-').padEnd(10)}${meter.failureCode ?? ''}`,
    );
  console.log('');

  const view = await api(otaUrl, apiKey, 'GET', `/v1/firmware/deployments/${deployment.deploymentId}`);
  say(`ota-distributor: deployment executions by state ${JSON.stringify(view.counts)}`);
  const succeeded = view.counts.SUCCEEDED ?? 0;
  if (succeeded !== targets.length - tampered)
    throw new DemoError(
      `expected ${targets.length - tampered} receipts, the deployment shows ${JSON.stringify(view.counts)}`,
    );
  const refusing = run.devices.filter((meter) => meter.failureCode);
  if (refusing.length !== tampered)
    throw new DemoError(`expected ${tampered} meter(s) to refuse the tampered image, ${refusing.length} did`);

  const updated = run.devices.find((meter) => !meter.failureCode);
  const firmware = await api(otaUrl, apiKey, 'GET', `/v1/firmware/devices/${updated.deviceId}`);
  const installed = firmware.installed;
  say(
    `registry: ${updated.deviceId} runs ${installed.components.map((c) => `${c.id} ${c.version}`).join(', ')} ` +
      `(sequence ${installed.sequenceNumber}, slot ${installed.bootedSlot}, receipt ${installed.receiptDigest.slice(0, 12)}…)`,
  );
}

/** A release's manifest: one app component, valid 90 days. */
export function releaseManifest({ sequenceNumber, version, app }) {
  const now = Date.now();
  return {
    manifestVersion: 1,
    sequenceNumber,
    vendorId: VENDOR_ID,
    classId: CLASS_ID,
    components: [
      {
        id: ['app'],
        version,
        format: 'raw',
        digest: { alg: 'sha-256', value: app.sha256 },
        size: app.size,
      },
    ],
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 90 * 86_400_000).toISOString(),
    description: `Demo release ${version}`,
  };
}

/** Signs a manifest offline with the update authority (firmware-signer) and submits the envelope. */
export async function signAndSubmit({ otaUrl, apiKey, work, authority, manifest }) {
  writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2));
  say('utility (offline): signing the manifest with the update authority (RFC 8785 + ES256)');
  runCli('firmware-signer', [
    'sign',
    '--key',
    authority.privateKey,
    '--manifest',
    join(work, 'manifest.json'),
    '--out',
    join(work, 'signed'),
  ]);
  const openssl = spawnSync(
    'openssl',
    ['dgst', '-sha256', '-verify', authority.publicKey, '-signature', 'manifest.sig', 'manifest.jcs'],
    { cwd: join(work, 'signed'), encoding: 'utf8' },
  );
  say(`openssl dgst -verify of the detached signature: ${(openssl.stdout || openssl.stderr).trim()}`);
  return api(otaUrl, apiKey, 'POST', '/v1/firmware/manifests', {
    body: readFileSync(join(work, 'signed', 'envelope.json')),
    contentType: 'application/json',
  });
}
