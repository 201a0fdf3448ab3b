/**
 * What the parsers read of an archived document, made from what the archive holds: the gzip of the
 * verbatim bytes, and whether the fetcher archived the page as text. The text is decoded from the
 * bytes again, exactly as the fetcher decoded it (the same decodeBody, with the charset it settled
 * on, NUL dropped as the archive drops it), rather than read from raw.document.text: the bytes are a
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
  /** The charset the fetcher decoded it with (raw.document.charset). */
  charset?: string;
}

export function inputFromArchive(archived: ArchivedInput): ParseInput {
  const { documentId, bodyGzip, hasText, charset, ...rest } = archived;
  let bytes: Buffer;
  try {
    bytes = gunzipSync(bodyGzip);
  } catch (error) {
    throw new NonRetryableError('unreadable_document', `document ${documentId}: archived body is not valid gzip`, { cause: error });
  }
  // Decoded with the charset the fetcher settled on (a byte-order mark still wins, as it did then),
  // so a later change of charset detection does not change what an archived page says.
  const text = hasText ? decodeBody(bytes, charset ? `text/html; charset=${charset}` : rest.contentType).text.replaceAll('\u0000', '') : undefined;
  return { ...rest, bytes, ...(text === undefined ? {} : { text }) };
}
