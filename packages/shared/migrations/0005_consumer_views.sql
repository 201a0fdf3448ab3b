-- Why: the read API and dashboard connect as nst_reader (agg only), so news, fetch status, the indicator catalog and the archived source documents are exposed to it as views in agg, and each figure carries the id of the document it came from.

-- Views run with their owner's rights: nst_reader reads these rows without any right on raw or core.

-- The indicator catalog (names in both languages, unit), so consumers can label what they read.
CREATE VIEW agg.indicator AS
  SELECT code, name_zh, name_en, unit, unit_mult, additive, description
  FROM core.indicator;

-- agg.series gains the observation and document ids (appended: existing columns keep their order).
CREATE OR REPLACE VIEW agg.series AS
  SELECT o.district, o.indicator, o.measure, o.accumulation, o.period, o.period_start, o.period_end,
         o.basis, o.value, o.unit, o.unit_mult, o.status, o.valid_from, o.url AS source_url, o.locator,
         o.id AS observation_id, o.document_id, o.raw_value
  FROM core.observation o
  WHERE o.valid_to IS NULL;

-- Provenance of every vintage (current or closed): snapshot inputs name observation ids, and an
-- as-of snapshot may name a vintage that has since been closed.
CREATE VIEW agg.observation_source AS
  SELECT o.id AS observation_id, o.document_id, o.url AS source_url, o.locator, o.raw_value,
         o.parser_version, o.valid_from, o.valid_to
  FROM core.observation o;

-- News items with their tags; the summary and title only, never the article body.
CREATE VIEW agg.news AS
  SELECT n.id, n.title, n.lang, n.published_at, n.districts, n.industries, n.areas, n.summary,
         n.url AS source_url, n.document_id, n.recorded_at
  FROM core.news_item n;

-- One row per source: the registry entry with its last fetch attempt and last successful fetch.
CREATE VIEW agg.source_status AS
  SELECT s.key, s.name, s.publisher, s.district, s.format, s.url, s.schedule, s.lang, s.enabled,
         last.at AS last_fetch_at, last.outcome AS last_outcome, last.http_status AS last_http_status,
         last.error_code AS last_error_code, last.error_message AS last_error_message,
         last.duration_ms AS last_duration_ms,
         ok.at AS last_success_at,
         (SELECT count(*) FROM raw.document d WHERE d.source_key = s.key) AS documents
  FROM raw.source s
  LEFT JOIN LATERAL (
    SELECT f.at, f.outcome, f.http_status, f.error_code, f.error_message, f.duration_ms
    FROM raw.fetch_log f WHERE f.source_key = s.key ORDER BY f.at DESC, f.id DESC LIMIT 1
  ) last ON true
  LEFT JOIN LATERAL (
    SELECT f.at FROM raw.fetch_log f
    WHERE f.source_key = s.key AND f.outcome IN ('archived', 'unchanged', 'not_modified')
    ORDER BY f.at DESC, f.id DESC LIMIT 1
  ) ok ON true;

-- The archived copy of every document a figure or a news item was taken from (list pages and
-- documents nothing was drawn from stay private). body_gzip is the verbatim bytes, for binary
-- formats (XLSX) whose text is not readable.
CREATE VIEW agg.source_document AS
  SELECT d.id, d.source_key, d.url, d.final_url, d.content_type, d.charset, d.format, d.text,
         d.body_gzip, d.body_size, d.sha256_bytes, d.published_at, d.fetched_at
  FROM raw.document d
  WHERE d.role = 'document'
    AND (EXISTS (SELECT 1 FROM core.observation o WHERE o.document_id = d.id)
         OR EXISTS (SELECT 1 FROM core.news_item n WHERE n.document_id = d.id));

-- Default privileges (0002) cover views made by the migrating role; grant explicitly as well, so
-- the reader keeps them whichever role runs this file.
GRANT SELECT ON agg.indicator, agg.series, agg.observation_source, agg.news, agg.source_status,
  agg.source_document TO nst_reader;
