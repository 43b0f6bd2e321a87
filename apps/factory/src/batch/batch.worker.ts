// A worker thread of the factory's pool: takes the batch and (to sign) the intermediate's key once,
// then runs one chunk job per message. Every job is synchronous CPU work and a few file writes.
import { type KeyObject, createPrivateKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../factory.errors';
import type {
  ChunkResult,
  MintJob,
  SignCsrsJob,
  VerifyJob,
  VerifyResult,
  WorkerInit,
  WorkerReply,
} from './chunk-jobs';
import { ChunkMinter } from './mint-chunk';
import { CsrSigner } from './sign-csr-chunk';
import { ChunkVerifier } from './verify-chunk';

/** This thread's own KeyObject for the CA key; the DER copy it came in is wiped. */
function importCaKey(der: Uint8Array): KeyObject {
  const key = createPrivateKey({
    key: Buffer.from(der.buffer, der.byteOffset, der.length),
    format: 'der',
    type: 'pkcs8',
  });
  der.fill(0);
  return key;
}

/** Jobs arrive as structured clones of what the pool was given for this task. */
function handlerFor(init: WorkerInit): (job: unknown) => ChunkResult | VerifyResult {
  switch (init.task) {
    case 'mint': {
      const minter = new ChunkMinter(init.batch, init.rootPem, importCaKey(init.caKeyDer));
      return (job) => minter.mint(job as MintJob);
    }
    case 'sign-csrs': {
      const signer = new CsrSigner(init.batch, init.rootPem, importCaKey(init.caKeyDer));
      return (job) => signer.sign(job as SignCsrsJob);
    }
    case 'verify': {
      const verifier = new ChunkVerifier(init.batch, init.rootPem, new Date(init.at));
      return (job) => verifier.verify(job as VerifyJob);
    }
    default: {
      const unknown: never = init;
      throw new TypeError(`unknown worker task ${JSON.stringify(unknown)}`);
    }
  }
}

const port = parentPort;
if (!port) throw new Error('batch.worker runs as a worker thread');
const handle = handlerFor(workerData as WorkerInit);
port.on('message', (job: unknown) => {
  let reply: WorkerReply<ChunkResult | VerifyResult>;
  try {
    reply = { ok: true, result: handle(job) };
  } catch (error) {
    reply = { ok: false, error: errorMessage(error) };
  }
  port.postMessage(reply);
});
