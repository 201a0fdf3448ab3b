-- Why: every vintage written (inserted, or closed: a closing is never a HOT update) enters each of
-- core.observation's indexes, and those were about a third of PostgreSQL's CPU in the pipeline
-- (pnpm bench, measure "pipeline"). Keys now lead with indicator, district and period: a comparison
-- in a key index mostly ends within those three columns, instead of running through the few values
-- of district, measure and accumulation first; and the unique key in that order serves the
-- aggregator's window (indicator, district, period range), so observation_indicator_idx goes.
-- The same keys stay unique (the constraints hold the same columns, in another order).

ALTER TABLE core.observation DROP CONSTRAINT observation_district_indicator_measure_accumulation_period__key;
ALTER TABLE core.observation ADD CONSTRAINT observation_key_valid_from_key UNIQUE (indicator, district, period, measure, accumulation, valid_from);
DROP INDEX core.observation_indicator_idx;

-- At most one open vintage per key, as before.
DROP INDEX core.observation_open_vintage_idx;
CREATE UNIQUE INDEX observation_open_vintage_idx
  ON core.observation (indicator, district, period, measure, accumulation) WHERE valid_to IS NULL;

DROP INDEX core.quiet_publication_key_idx;
CREATE INDEX quiet_publication_key_idx ON core.quiet_publication (indicator, district, period, measure, accumulation, published_at);

-- raw.document's unique key (source_key, url, sha256_canonical) serves every lookup by source and
-- URL that this index served (discovery's "was this URL archived?", the latest copy of a URL).
DROP INDEX raw.document_source_url_idx;
