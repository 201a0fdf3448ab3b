/**
 * Bytes of a fetched page → text. Chinese government sites still serve GBK/GB2312 (often without
 * saying so in the header), so the charset is looked for in order: a byte-order mark (it cannot
 * lie, so it wins, as in the WHATWG encoding standard), the Content-Type header, a `<meta>` in the
 * first 4 KB, then detection; UTF-8 when nothing answers.
 *
 * GB2312 and GBK labels decode as GB18030, their superset: a page labelled GB2312 routinely uses
 * GBK-only characters (生僻字 in names), which a strict GB2312 decoder would turn into U+FFFD.
 */
import chardet from 'chardet';
import iconv from 'iconv-lite';

export type CharsetVia = 'header' | 'meta' | 'bom' | 'detect' | 'default';

export interface DecodedBody {
  text: string;
  /** The charset used, lower-case (`utf-8`, `gb18030`, …). */
  charset: string;
  via: CharsetVia;
}

/** How far into the body a `<meta charset>` is looked for (the HTML spec's prescan is 1024). */
const META_PRESCAN_BYTES = 4096;

/** Labels that mean "some Chinese GB encoding": all decoded as the superset GB18030. */
const GB_FAMILY = new Set(['gb2312', 'gbk', 'x-gbk', 'gb_2312-80', 'gb_2312', 'csgb2312', 'cp936', 'ms936', 'windows-936', 'euc-cn', 'iso-ir-58', 'chinese', 'csiso58gb231280', 'gb18030']);

const BOMS: ReadonlyArray<{ bytes: number[]; charset: string }> = [
  { bytes: [0xef, 0xbb, 0xbf], charset: 'utf-8' },
  { bytes: [0xff, 0xfe], charset: 'utf-16le' },
  { bytes: [0xfe, 0xff], charset: 'utf-16be' },
  { bytes: [0x84, 0x31, 0x95, 0x33], charset: 'gb18030' },
];

/**
 * A charset label as iconv-lite should see it, or undefined when the label names nothing it
 * can decode (an unknown label is ignored and the next clue is tried, not trusted).
 */
export function canonicalCharset(label: string | undefined): string | undefined {
  if (!label) return undefined;
  const name = label.trim().replace(/^["']|["']$/g, '').toLowerCase();
  if (name === '') return undefined;
  if (GB_FAMILY.has(name)) return 'gb18030';
  if (name === 'utf8' || name === 'unicode-1-1-utf-8') return 'utf-8';
  // ISO-8859-1 is decoded as windows-1252 by every browser; do the same.
  if (name === 'iso-8859-1' || name === 'latin1' || name === 'us-ascii' || name === 'ascii') return 'windows-1252';
  return iconv.encodingExists(name) ? name : undefined;
}

/** The charset parameter of a Content-Type header value. */
export function charsetFromContentType(contentType: string | undefined): string | undefined {
  const match = contentType ? /charset\s*=\s*("?)([^";,\s]+)\1/i.exec(contentType) : null;
  return match?.[2];
}

/**
 * The charset declared in the first bytes of an HTML/XML document: `<meta charset=…>`,
 * `<meta http-equiv="Content-Type" content="…; charset=…">` or `<?xml … encoding="…"?>`.
 */
export function charsetFromMarkup(bytes: Buffer): string | undefined {
  // latin1 maps each byte to one char, so ASCII markup reads correctly whatever the real charset.
  const head = bytes.subarray(0, META_PRESCAN_BYTES).toString('latin1');
  const meta = /<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
  if (meta?.[1]) return meta[1];
  const xml = /^\s*<\?xml\b[^>]*\bencoding\s*=\s*["']([\w.:-]+)["']/i.exec(head);
  return xml?.[1];
}

function charsetFromBom(bytes: Buffer): { charset: string; length: number } | undefined {
  for (const bom of BOMS) {
    if (bytes.length >= bom.bytes.length && bom.bytes.every((byte, index) => bytes[index] === byte)) {
      return { charset: bom.charset, length: bom.bytes.length };
    }
  }
  return undefined;
}

/** Whether the bytes are well-formed UTF-8 (then detection is not needed, and often wrong). */
export function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function detectCharset(bytes: Buffer): string | undefined {
  if (isValidUtf8(bytes)) return 'utf-8';
  const detected = canonicalCharset(chardet.detect(bytes) ?? undefined);
  // chardet names short GBK samples Big5 or EUC-KR now and then; a Chinese government page that is
  // not UTF-8 is GB-encoded far more often than anything else, so prefer GB18030 when it decodes cleanly.
  if (detected !== 'gb18030' && decodesCleanly(bytes, 'gb18030')) return 'gb18030';
  return detected;
}

function decodesCleanly(bytes: Buffer, charset: string): boolean {
  return !iconv.decode(bytes, charset).includes('\uFFFD');
}

/**
 * Decode a response body. Never throws on odd bytes: an undecodable byte becomes U+FFFD and the
 * parser downstream decides whether the text is usable.
 */
export function decodeBody(bytes: Buffer, contentType?: string): DecodedBody {
  const bom = charsetFromBom(bytes);
  if (bom) return { text: iconv.decode(bytes.subarray(bom.length), bom.charset), charset: bom.charset, via: 'bom' };
  const fromHeader = canonicalCharset(charsetFromContentType(contentType));
  if (fromHeader) return { text: iconv.decode(bytes, fromHeader), charset: fromHeader, via: 'header' };
  const fromMeta = canonicalCharset(charsetFromMarkup(bytes));
  // A page saying `<meta charset=utf-8>` in markup that is not UTF-8 is a lie seen on old CMSs
  // after a template change; the bytes are GB then, and detection below gets them right.
  if (fromMeta && !(fromMeta === 'utf-8' && !isValidUtf8(bytes))) {
    return { text: iconv.decode(bytes, fromMeta), charset: fromMeta, via: 'meta' };
  }
  const detected = bytes.length > 0 ? detectCharset(bytes) : undefined;
  if (detected) return { text: iconv.decode(bytes, detected), charset: detected, via: 'detect' };
  return { text: iconv.decode(bytes, 'utf-8'), charset: 'utf-8', via: 'default' };
}
