-- Why: a publication that opens a vintage was stored twice, as a row of core.publication and as the vintage it opens, which doubled what storing a figure cost (pnpm bench, measure "pipeline"); now each publication is stored once, as its vintage or, when it opens none, in core.quiet_publication, and core.publication is the view of both.

ALTER TABLE core.publication RENAME TO quiet_publication;
ALTER INDEX core.publication_key_idx RENAME TO quiet_publication_key_idx;
COMMENT ON TABLE core.quiet_publication IS
  'Publications that open no vintage (a figure republished unchanged, news after an official figure); a publication that opens one is its row in core.observation.';

-- The publications that opened a vintage are that vintage: a vintage is derived from its document's
-- publication of the same key, and every store left the two saying the same.
DELETE FROM core.quiet_publication p
USING core.observation o
WHERE (o.document_id, o.district, o.indicator, o.measure, o.accumulation, o.period) = (p.document_id, p.district, p.indicator, p.measure, p.accumulation, p.period);

-- Every publication of a figure, as before: the vintages' (opens_vintage) and the quiet ones.
CREATE VIEW core.publication AS
  SELECT district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, valid_from AS published_at, document_id,
         url, locator, parser_version, true AS opens_vintage
  FROM core.observation
  UNION ALL
  SELECT district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, published_at, document_id,
         url, locator, parser_version, false
  FROM core.quiet_publication;
