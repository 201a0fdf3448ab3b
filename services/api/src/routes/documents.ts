/**
 * GET /api/documents/:id: the archived copy of a source document (one a figure or a news item was
 * taken from), so every number resolves to its source even when the publisher is unreachable.
 */
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps';
import type { RouteDoc } from '../openapi';
import { parseQuery } from '../query';
import { selectDocument, selectDocumentBody, type SourceDocumentRow } from '../sql/select-document';

export const DocumentParams = z.strictObject({
  id: z.coerce.number({ error: 'must be a document id (a positive whole number)' }).int('must be a document id (a positive whole number)')
    .positive('must be a document id (a positive whole number)').max(Number.MAX_SAFE_INTEGER, 'is too large')
    .describe('document_id of a figure or news item'),
});

export const DocumentQuery = z.strictObject({
  format: z.enum(['archived', 'json'], { error: 'must be archived or json' }).optional()
    .describe('archived (default): the document as archived; json: its metadata and text'),
});

export const DocumentMeta = z.object({
  id: z.number().int(),
  source_key: z.string(),
  url: z.string().describe('the publisher URL'),
  final_url: z.string(),
  content_type: z.string().nullable(),
  format: z.string(),
  body_size: z.number().int(),
  sha256_bytes: z.string().describe('sha256 of the verbatim bytes'),
  published_at: z.string().nullable(),
  fetched_at: z.string(),
  text: z.string().nullable().describe('the decoded text (HTML pages); null for binary formats'),
});

export const documentsDocs: RouteDoc[] = [
  {
    path: '/api/documents/:id',
    tag: 'documents',
    summary: 'The archived copy of a source document',
    description:
      'HTML pages are served as archived (decoded to UTF-8) in a sandbox (no scripts); binary formats (XLSX) as the verbatim bytes. ' +
      'The publisher URL is in the Link header (rel="canonical"). ?format=json gives the metadata and text instead.',
    params: DocumentParams,
    query: DocumentQuery,
    response: DocumentMeta,
    alternatives: { 'text/html': 'the archived page', 'application/octet-stream': 'the verbatim bytes of a binary document' },
  },
];

/** Archived pages come from other sites: never let them run scripts or load anything on our origin. */
const SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const isText = (doc: SourceDocumentRow) =>
  doc.text !== null && /^(text\/|application\/(xhtml\+xml|xml|json))/i.test(doc.content_type ?? 'text/html');

/** A header value must be ASCII: percent-encode whatever the archived URL holds beyond it. */
function headerSafeUrl(url: string): string {
  try {
    return encodeURI(decodeURI(url));
  } catch {
    return encodeURI(url);
  }
}

export function registerDocumentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/api/documents/:id', async (request, reply) => {
    const { id } = parseQuery(DocumentParams, request.params);
    const { format } = parseQuery(DocumentQuery, request.query);
    const doc = await selectDocument(deps.pool, id);
    if (!doc) {
      return reply.code(404).send({ error: 'not_found', message: `document ${id} is not the source of any figure or news item` });
    }
    if (format === 'json') {
      const { charset: _charset, ...meta } = doc;
      return { ...meta, text: isText(doc) ? doc.text : null };
    }
    reply
      .header('link', `<${headerSafeUrl(doc.url)}>; rel="canonical"`)
      .header('content-security-policy', SANDBOX)
      .header('cache-control', 'public, max-age=3600');
    if (isText(doc)) {
      // The text is stored decoded; whatever charset the publisher used, it is sent as UTF-8.
      const mime = (doc.content_type ?? 'text/html').split(';')[0]!.trim();
      return reply.header('content-type', `${mime}; charset=utf-8`).send(doc.text);
    }
    const body = await selectDocumentBody(deps.pool, id);
    const name = decodeURIComponent(new URL(doc.url).pathname.split('/').pop() || `document-${id}`).replace(/[^\w.-]/g, '_');
    return reply
      .header('content-type', doc.content_type ?? 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(gunzipSync(body!));
  });
}
