-- Why: the normalizer needs each document's parser format, list pages are archived but not parsed, and a fetch retried after a crash must know whether its document was already normalized.

ALTER TABLE raw.document
  ADD COLUMN role text NOT NULL DEFAULT 'document' CHECK (role IN ('list', 'document')),
  ADD COLUMN format text NOT NULL DEFAULT 'stats-table'
    CHECK (format IN ('stats-table', 'bulletin', 'news-list', 'news-article', 'xls')),
  ADD COLUMN normalized_at timestamptz,
  ADD COLUMN parser_version text;

ALTER TABLE raw.document ALTER COLUMN role DROP DEFAULT;
ALTER TABLE raw.document ALTER COLUMN format DROP DEFAULT;

-- Discovery asks "was this URL ever archived?" for every link on every list page.
CREATE INDEX document_source_url_idx ON raw.document (source_key, url);
