/**
 * What the parsers read of an archived document, made from what the archive holds: the gzip of the
 * verbatim bytes, and whether the fetcher archived the page as text. The text is decoded from the
 * bytes again, exactly as the fetcher decoded it (the same decodeBody, the same Content-Type, NUL
 * dropped as PostgreSQL text drops it), rather than read from raw.document.text: the bytes are a
 * third of its size on the wire, and decoding them belongs to the parse, off the main thread when a
 * parse pool runs (parse-pool.ts).
 */
import { gunzipSync } from 'node:zlib';
import { decodeBody } from '@nst/shared/charset';
import { NonRetryableError } from '@nst/shared/errors';
import type { ParseInput } from './records';

export interface ArchivedInput extends Omit<ParseInput, 'bytes' | 'text'> {
  documentId: number;
  /** raw.document.body_gzip. */
  bodyGzip: Buffer;
  /** The fetcher archived a decoded text (raw.document.text is not null): the page is text. */
  hasText: boolean;
}

export function inputFromArchive(archived: ArchivedInput): ParseInput {
  const { documentId, bodyGzip, hasText, ...rest } = archived;
  let bytes: Buffer;
  try {
    bytes = gunzipSync(bodyGzip);
  } catch (error) {
    throw new NonRetryableError('unreadable_document', `document ${documentId}: archived body is not valid gzip`, { cause: error });
  }
  return { ...rest, bytes, ...(hasText ? { text: decodeBody(bytes, rest.contentType).text.replaceAll('\u0000', '') } : {}) };
}
