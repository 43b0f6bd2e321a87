// Chromium's screenshot is a true-colour PNG; the antialiased text alone makes it ~400 KB. The same
// picture with a 256-colour palette is a fraction of that and looks the same: the palette keeps the
// colours the page is drawn with (so no series changes hue) and fills up with the most frequent others.
import { deflateSync, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into RGB pixels. */
export function readPng(file) {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let header;
  const data = [];
  for (let pos = 8; pos < file.length;) {
    const length = file.readUInt32BE(pos);
    const type = file.toString('latin1', pos + 4, pos + 8);
    const body = file.subarray(pos + 8, pos + 8 + length);
    if (type === 'IHDR')
      header = {
        width: body.readUInt32BE(0),
        height: body.readUInt32BE(4),
        depth: body[8],
        colorType: body[9],
        interlace: body[12],
      };
    if (type === 'IDAT') data.push(body);
    pos += 12 + length;
  }
  const { width, height, depth, colorType, interlace } = header;
  if (depth !== 8 || ![2, 6].includes(colorType) || interlace !== 0)
    throw new Error(`unsupported PNG (depth ${depth}, colour type ${colorType}, interlace ${interlace})`);
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  const raw = inflateSync(Buffer.concat(data));
  const rgb = Buffer.alloc(width * height * 3);
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp] : 0;
      const b = previous[i];
      const c = i >= bpp ? previous[i - bpp] : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[i] = (line[i] + predictor) & 255;
    }
    for (let x = 0; x < width; x++) line.copy(rgb, (y * width + x) * 3, x * bpp, x * bpp + 3);
    previous = line;
  }
  return { width, height, rgb };
}

function chunk(type, body) {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  body.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const hex = (color) => parseInt(color.slice(1), 16);
const rgbOf = (color) => [(color >> 16) & 255, (color >> 8) & 255, color & 255];

/** The picture with at most 256 colours: `keep` (CSS #rrggbb) first, then the most frequent others. */
export function toPalettePng({ width, height, rgb }, keep) {
  const counts = new Map();
  for (let i = 0; i < rgb.length; i += 3) {
    const color = (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2];
    counts.set(color, (counts.get(color) ?? 0) + 1);
  }
  const palette = [...new Set(keep.map(hex))];
  for (const [color] of [...counts].sort((a, b) => b[1] - a[1])) {
    if (palette.length >= 256) break;
    if (!palette.includes(color)) palette.push(color);
  }
  const channels = palette.map(rgbOf);
  const index = new Map();
  for (const color of counts.keys()) {
    const [r, g, b] = rgbOf(color);
    let best = 0;
    let bestDistance = Infinity;
    channels.forEach(([pr, pg, pb], i) => {
      // Weighted as the eye weighs the channels.
      const distance = 3 * (r - pr) ** 2 + 4 * (g - pg) ** 2 + 2 * (b - pb) ** 2;
      if (distance < bestDistance) [best, bestDistance] = [i, distance];
    });
    index.set(color, best);
  }
  const raw = Buffer.alloc(height * (width + 1)); // filter byte 0 (none) per row: best for palettes
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[y * (width + 1) + 1 + x] = index.get((rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2]);
    }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per index
  header[9] = 3; // indexed colour
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('PLTE', Buffer.from(channels.flat())),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
