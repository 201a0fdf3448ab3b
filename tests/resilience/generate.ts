/**
 * Bad input too big to commit, made at test time: a page past the size cap, a zip bomb dressed
 * as an XLSX, a gzip bomb, markup nested 100 000 deep, binary noise. Everything is deterministic
 * (seeded), so a failure reproduces byte for byte.
 */
import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib';

/** A small, fast, seeded PRNG (mulberry32): the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `n` bytes of seeded noise. */
export function noise(n: number, seed: number): Buffer {
  const random = mulberry32(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 1) out[i] = Math.floor(random() * 256);
  return out;
}

const MB = 1024 * 1024;

/**
 * A raw deflate stream of `megabytes` MB of zeros, in a few KB per GB: one MB of zeros is deflated
 * once with a full flush (which leaves the compressor with no history, byte-aligned), that segment
 * is repeated, and a final empty block closes the stream.
 */
function deflatedZeros(megabytes: number): Buffer {
  const segment = deflateRawSync(Buffer.alloc(MB), { finishFlush: constants.Z_FULL_FLUSH });
  const final = deflateRawSync(Buffer.alloc(0));
  return Buffer.concat([...Array.from({ length: megabytes }, () => segment), final]);
}

interface ZipEntry {
  name: string;
  /** Stored as is (method 8 data when `deflated`), else deflated here. */
  data: Buffer;
  deflated?: boolean;
  uncompressedSize: number;
  crc: number;
}

/** A zip archive of `entries` (deflate, no zip64: every size must stay below 4 GB). */
function zipArchive(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = entry.deflated ? entry.data : deflateRawSync(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 10);
    local.writeUInt32LE(entry.crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(entry.uncompressedSize >>> 0, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(entry.crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(entry.uncompressedSize >>> 0, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const part = (name: string, xml: string): ZipEntry => {
  const data = Buffer.from(xml, 'utf8');
  return { name, data, uncompressedSize: data.length, crc: crc32(data) };
};

/**
 * An XLSX-shaped zip bomb: the parts of a one-sheet workbook, whose sheet inflates to
 * `gigabytes` GB of zeros. `declares`: `truth` states the real inflated size in the headers (an
 * honest bomb), `lie` states 1 KB (the inflater must not trust it).
 */
export function xlsxZipBomb(gigabytes: number, declares: 'truth' | 'lie'): Buffer {
  const megabytes = Math.round(gigabytes * 1024);
  return zipArchive([
    part('[Content_Types].xml', '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    part('_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    part('xl/workbook.xml', '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="主要指标" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    part('xl/_rels/workbook.xml.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
    { name: 'xl/worksheets/sheet1.xml', data: deflatedZeros(megabytes), deflated: true, uncompressedSize: declares === 'truth' ? Math.min(megabytes * MB, 0xffff_fffe) : 1024, crc: 0 },
  ]);
}

/** A gzip body of `megabytes` MB of zeros (served with Content-Encoding: gzip). */
export function gzipBomb(megabytes: number): Buffer {
  const header = gzipSync(Buffer.alloc(0)).subarray(0, 10);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(0, 0);
  trailer.writeUInt32LE((megabytes * MB) >>> 0, 4);
  return Buffer.concat([header, deflatedZeros(megabytes), trailer]);
}

/** A statistics page of `bytes` bytes (padding in a comment-free filler paragraph). */
export function hugePage(bytes: number): Buffer {
  const head = Buffer.from('<!DOCTYPE html><html><head><meta charset="utf-8"><title>2025年1-10月宝山区主要经济指标</title></head><body><p>');
  const tail = Buffer.from('</p></body></html>');
  return Buffer.concat([head, Buffer.alloc(Math.max(0, bytes - head.length - tail.length), 'a'), tail]);
}

/** A page whose table sits `depth` elements deep. */
export function deeplyNestedPage(depth: number, tag = 'div'): Buffer {
  const table = '<table><tr><th>指标</th><th>计量单位</th><th>1-10月</th><th>比上年同期增长（%）</th></tr><tr><td>规模以上工业总产值</td><td>亿元</td><td>2,987.15</td><td>1.8</td></tr></table>';
  return Buffer.from(
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>2025年1-10月宝山区主要经济指标</title></head><body>${`<${tag}>`.repeat(depth)}${table}${`</${tag}>`.repeat(depth)}</body></html>`,
  );
}

/** A PNG signature and header, then noise: an image where a page should be. */
export function pngImage(seed: number): Buffer {
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]), noise(32 * 1024, seed)]);
}
