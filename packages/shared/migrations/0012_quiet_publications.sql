-- Why: a publication that opens a vintage was stored twice, as a row of core.publication and as the vintage it opens, which doubled what storing a figure cost (pnpm bench, measure "pipeline"); now each publication is stored once, as its vintage or, when it opens none, in core.quiet_publication, and core.publication is the view of both.

-- One vintage per document and key: a vintage is its document's publication of the key. The store
-- relies on it, and so does the DELETE below; data that breaks it needs a look before migrating.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM core.observation GROUP BY document_id, district, indicator, measure, accumulation, period HAVING count(*) > 1) THEN
    RAISE EXCEPTION 'core.observation holds more than one vintage of a key from one document; re-normalize those documents before this migration';
  END IF;
END
$$;

ALTER TABLE core.publication RENAME TO quiet_publication;
ALTER SEQUENCE core.publication_id_seq RENAME TO quiet_publication_id_seq;
ALTER INDEX core.publication_key_idx RENAME TO quiet_publication_key_idx;
ALTER TABLE core.quiet_publication RENAME CONSTRAINT publication_pkey TO quiet_publication_pkey;
ALTER TABLE core.quiet_publication RENAME CONSTRAINT publication_document_id_district_indicator_measure_accumula_key TO quiet_publication_document_key;
ALTER TABLE core.quiet_publication RENAME CONSTRAINT publication_document_id_fkey TO quiet_publication_document_id_fkey;
ALTER TABLE core.quiet_publication RENAME CONSTRAINT publication_indicator_fkey TO quiet_publication_indicator_fkey;
ALTER TABLE core.quiet_publication RENAME CONSTRAINT publication_status_check TO quiet_publication_status_check;
COMMENT ON TABLE core.quiet_publication IS
  'Publications that open no vintage (a figure republished unchanged, news after an official figure); a publication that opens one is its row in core.observation.';

-- The publications that opened a vintage are that vintage: a vintage is derived from its document's
-- publication of the same key, and every store left the two saying the same.
DELETE FROM core.quiet_publication p
USING core.observation o
WHERE (o.document_id, o.district, o.indicator, o.measure, o.accumulation, o.period) = (p.document_id, p.district, p.indicator, p.measure, p.accumulation, p.period);

-- Most rows went: the planner's statistics (and the normalizer's statistics keeper) start from what is left.
ANALYZE core.quiet_publication;

-- Every publication of a figure, as before: the vintages' (opens_vintage) and the quiet ones.
CREATE VIEW core.publication AS
  SELECT district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, valid_from AS published_at, document_id,
         url, locator, parser_version, true AS opens_vintage
  FROM core.observation
  UNION ALL
  SELECT district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, published_at, document_id,
         url, locator, parser_version, false
  FROM core.quiet_publication;
