import { X509Certificate, sign } from 'node:crypto';
import { type KeyObject } from 'node:crypto';
import { der, parseCertificate, parseCsr } from '../src/index.js';

/**
 * Differential fuzzing of libs/pki's X.509 parser against OpenSSL (Node's X509Certificate, and the
 * `openssl req` CLI for CSRs). Mutants come from valid seeds: byte flips, lengths, tags, truncation,
 * and structural edits on the DER tree (delete, duplicate, swap, splice from another seed, non-minimal
 * lengths) re-encoded so framing stays valid and the parsers' semantic checks are reached.
 */

/** A seeded PRNG (mulberry32): the same seed gives the same run. */
export class Prng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** A DER element as a tree; OCTET/BIT STRING contents that are DER themselves are opened too. */
interface Node {
  tag: number;
  children?: Node[];
  /** Before the children of an opened BIT STRING: its unused-bits octet. */
  prefix?: Buffer;
  content?: Buffer;
  /** Encode the length in a non-minimal long form (a DER violation on purpose). */
  longLength?: boolean;
}

function parseNodes(bytes: Buffer, depth = 0): Node[] | undefined {
  const nodes: Node[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    let element: der.DerElement;
    try {
      element = der.readElement(bytes, offset);
    } catch {
      return undefined;
    }
    nodes.push(toNode(element, depth));
    offset = element.end;
  }
  return nodes;
}

function toNode(element: der.DerElement, depth: number): Node {
  const content = Buffer.from(der.contentOf(element));
  if ((element.tag & 0x20) !== 0) return { tag: element.tag, children: parseNodes(content, depth + 1) ?? [] };
  if (depth < 12 && element.tag === der.TAG.OCTET_STRING && content.length > 1 && content[0] === 0x30) {
    const children = parseNodes(content, depth + 1);
    if (children) return { tag: element.tag, children };
  }
  if (depth < 12 && element.tag === der.TAG.BIT_STRING && content[0] === 0 && content[1] === 0x30) {
    const children = parseNodes(content.subarray(1), depth + 1);
    if (children) return { tag: element.tag, prefix: content.subarray(0, 1), children };
  }
  return { tag: element.tag, content };
}

function encode(node: Node): Buffer {
  const body = node.children
    ? Buffer.concat([node.prefix ?? Buffer.alloc(0), ...node.children.map(encode)])
    : node.content!;
  const tlv = der.tlv(node.tag, body);
  if (!node.longLength || body.length > 0xffff) return tlv;
  const header = Buffer.from([node.tag, 0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([header, body]);
}

const clone = (node: Node): Node => ({
  ...node,
  children: node.children?.map(clone),
});

/** Every node with its parent's child list, depth first. */
function walk(node: Node, out: { node: Node; siblings: Node[] | undefined }[] = [], siblings?: Node[]) {
  out.push({ node, siblings });
  for (const child of node.children ?? []) walk(child, out, node.children);
  return out;
}

const TAGS = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x17, 0x18, 0x1e, 0x30, 0x31, 0x80, 0x81, 0x82, 0xa0,
  0xa1, 0xa3,
];
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0xff, 0x30, 0x06, 0x2a];

/** One structural edit on a copy of `root`; `donors` are other seeds' trees to splice from. */
function mutateTree(root: Node, donors: readonly Node[], rng: Prng): Node {
  const copy = clone(root);
  const nodes = walk(copy).slice(1);
  const { node, siblings } = rng.pick(nodes);
  switch (rng.int(9)) {
    case 0: // delete
      siblings?.splice(siblings.indexOf(node), 1);
      break;
    case 1: // duplicate
      siblings?.splice(siblings.indexOf(node), 0, clone(node));
      break;
    case 2: {
      // swap with a sibling
      if (siblings && siblings.length > 1) {
        const i = siblings.indexOf(node);
        const j = rng.int(siblings.length);
        [siblings[i], siblings[j]] = [siblings[j]!, siblings[i]!];
      }
      break;
    }
    case 3: // retag
      node.tag = rng.pick(TAGS);
      break;
    case 4: {
      // splice in a subtree of another seed
      const donor = rng.pick(walk(clone(rng.pick(donors))).slice(1)).node;
      if (siblings) siblings[siblings.indexOf(node)] = donor;
      break;
    }
    case 5: // non-minimal length
      node.longLength = true;
      break;
    case 6: {
      // primitive contents: change, extend or cut
      if (node.content) {
        const content = Buffer.from(node.content);
        const what = rng.int(3);
        if (what === 0 && content.length > 0) content[rng.int(content.length)] = rng.pick(INTERESTING);
        node.content =
          what === 1
            ? Buffer.concat([content, Buffer.from([rng.pick(INTERESTING)])])
            : what === 2
              ? content.subarray(0, rng.int(content.length + 1))
              : content;
      }
      break;
    }
    case 7: // empty a constructed value
      if (node.children) node.children = [];
      break;
    default: {
      // turn an opened string back into opaque bytes, or a node into an empty primitive
      node.content = node.children ? encode({ ...node, tag: 0x04 }).subarray(2) : Buffer.alloc(0);
      delete node.children;
      delete node.prefix;
    }
  }
  return copy;
}

/** One byte-level edit: flips, interesting values, lengths, truncation, insertion, splicing. */
function mutateBytes(input: Buffer, donors: readonly Buffer[], rng: Prng): Buffer {
  const bytes = Buffer.from(input);
  const at = rng.int(bytes.length);
  switch (rng.int(6)) {
    case 0:
      bytes[at] = bytes[at]! ^ (1 << rng.int(8));
      return bytes;
    case 1:
      bytes[at] = rng.pick(INTERESTING);
      return bytes;
    case 2:
      return bytes.subarray(0, at);
    case 3:
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([rng.int(256)]), bytes.subarray(at)]);
    case 4: {
      const donor = rng.pick(donors);
      return Buffer.concat([bytes.subarray(0, at), donor.subarray(rng.int(donor.length))]);
    }
    default:
      return Buffer.concat([
        bytes.subarray(0, at),
        bytes.subarray(Math.min(bytes.length, at + 1 + rng.int(8))),
      ]);
  }
}

export interface Seed {
  readonly der: Buffer;
  /** For CSRs: the key that re-signs a mutated request, so the parser's checks past the signature run. */
  readonly key?: KeyObject;
}

export interface Discrepancy {
  readonly kind: 'certificate' | 'csr';
  /** What differs, e.g. "accepted by libs/pki, refused by OpenSSL: <OpenSSL's message>". */
  readonly reason: string;
  readonly hex: string;
}

export interface FuzzReport {
  readonly certificates: number;
  readonly csrs: number;
  readonly acceptedByPki: { certificates: number; csrs: number };
  /** CSRs libs/pki accepted, checked with `openssl req -verify` (capped per run: spawning is slow). */
  readonly csrsCheckedWithOpenssl: number;
  readonly discrepancies: readonly Discrepancy[];
}

export interface FuzzOptions {
  readonly seed: number;
  readonly certificates: number;
  readonly csrs: number;
  readonly certificateSeeds: readonly Seed[];
  readonly csrSeeds: readonly Seed[];
  /** Checks accepted CSRs with OpenSSL: true when OpenSSL accepts each (same order). */
  readonly opensslAcceptsCsrs: (csrs: readonly Buffer[]) => boolean[];
  readonly maxOpensslCsrChecks: number;
}

function mutant(seeds: readonly Seed[], trees: readonly Node[], rng: Prng): { der: Buffer; seed: Seed } {
  const index = rng.int(seeds.length);
  const seed = seeds[index]!;
  let bytes = seed.der;
  const edits = 1 + rng.int(3);
  if (rng.next() < 0.6) {
    let tree = trees[index]!;
    for (let i = 0; i < edits; i++) tree = mutateTree(tree, trees, rng);
    bytes = encode(tree);
  } else {
    for (let i = 0; i < edits; i++)
      bytes = mutateBytes(
        bytes,
        seeds.map((s) => s.der),
        rng,
      );
  }
  return { der: bytes, seed };
}

function accepts(fn: () => unknown): { ok: true } | { ok: false; reason: string } {
  try {
    fn();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Compares what both parsers read from a certificate both accept; a difference is a discrepancy. */
function compareCertificate(bytes: Buffer): string | undefined {
  const ours = parseCertificate(bytes);
  const theirs = new X509Certificate(bytes);
  let spki: Buffer;
  try {
    spki = theirs.publicKey.export({ type: 'spki', format: 'der' });
  } catch (error) {
    return `accepted by libs/pki, OpenSSL cannot import its key: ${(error as Error).message}`;
  }
  if (!spki.equals(ours.spki) && ours.publicKeyPoint[0] === 0x04) return 'subject public keys differ';
  const negative = theirs.serialNumber.startsWith('-');
  const serial = BigInt(`0x${theirs.serialNumber.replace('-', '')}`) * (negative ? -1n : 1n);
  if (serial !== ours.serial) {
    return `serials differ: OpenSSL ${theirs.serialNumber}, libs/pki ${ours.serialHex}`;
  }
  if (theirs.validFromDate.getTime() !== ours.notBefore.getTime()) return 'notBefore differs';
  if (theirs.validToDate.getTime() !== ours.notAfter.getTime()) return 'notAfter differs';
  // OpenSSL's X509_check_ca: false when an extension it knows fails to decode (what this looks for),
  // and when keyUsage lacks keyCertSign (libs/pki refuses such an issuer in validateChain instead).
  const keyUsage = ours.extensions.keyUsage;
  if (ours.isCa && (!keyUsage || keyUsage.includes('keyCertSign')) && !theirs.ca) {
    return 'a CA to libs/pki, not to OpenSSL (an extension OpenSSL cannot decode?)';
  }
  return undefined;
}

export function runDifferential(options: FuzzOptions): FuzzReport {
  const rng = new Prng(options.seed);
  const discrepancies: Discrepancy[] = [];
  const certificateTrees = options.certificateSeeds.map((s) => parseNodes(s.der)![0]!);
  let acceptedCertificates = 0;
  for (let i = 0; i < options.certificates; i++) {
    const { der: bytes } = mutant(options.certificateSeeds, certificateTrees, rng);
    if (!accepts(() => parseCertificate(bytes)).ok) continue;
    acceptedCertificates++;
    const openssl = accepts(() => new X509Certificate(bytes));
    const reason = openssl.ok
      ? compareCertificate(bytes)
      : `accepted by libs/pki, refused by OpenSSL: ${openssl.reason}`;
    if (reason) discrepancies.push({ kind: 'certificate', reason, hex: bytes.toString('hex') });
  }

  // CSRs: the request info is mutated, then re-signed with the seed's key half the time.
  const csrTrees = options.csrSeeds.map((s) => parseNodes(s.der)![0]!);
  const infoTrees = csrTrees.map((t) => t.children![0]!);
  const accepted = new Map<string, Buffer>();
  let acceptedCsrs = 0;
  for (let i = 0; i < options.csrs; i++) {
    const index = rng.int(options.csrSeeds.length);
    const seed = options.csrSeeds[index]!;
    let bytes: Buffer;
    if (seed.key && rng.next() < 0.5) {
      let info = infoTrees[index]!;
      for (let e = 1 + rng.int(2); e > 0; e--) info = mutateTree(info, infoTrees, rng);
      const infoDer = encode(info);
      bytes = der.sequence(
        infoDer,
        der.encodingOf(der.childrenOf(der.decodeDer(seed.der))[1]!),
        der.bitString(sign('sha256', infoDer, seed.key)),
      );
    } else {
      bytes = mutant(options.csrSeeds, csrTrees, rng).der;
    }
    if (!accepts(() => parseCsr(bytes)).ok) continue;
    acceptedCsrs++;
    if (!options.csrSeeds.some((s) => s.der.equals(bytes))) accepted.set(bytes.toString('hex'), bytes);
  }
  const toCheck = [...accepted.values()].slice(0, options.maxOpensslCsrChecks);
  options.opensslAcceptsCsrs(toCheck).forEach((ok, i) => {
    if (!ok) {
      discrepancies.push({
        kind: 'csr',
        reason: 'accepted by libs/pki, refused by openssl req -verify',
        hex: toCheck[i]!.toString('hex'),
      });
    }
  });
  return {
    certificates: options.certificates,
    csrs: options.csrs,
    acceptedByPki: { certificates: acceptedCertificates, csrs: acceptedCsrs },
    csrsCheckedWithOpenssl: toCheck.length,
    discrepancies,
  };
}
