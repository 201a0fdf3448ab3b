-- Why: vintages must not depend on the order documents are normalized in; every publication of a figure is kept, and the vintages of a key are derived from all of them.

CREATE TABLE core.publication (
  id              bigserial PRIMARY KEY,
  district        text NOT NULL,
  indicator       text NOT NULL REFERENCES core.indicator (code),
  measure         text NOT NULL,
  accumulation    text NOT NULL,
  period          text NOT NULL,
  value           numeric NOT NULL,
  raw_value       text NOT NULL,
  unit            text NOT NULL,
  unit_mult       smallint NOT NULL,
  status          text NOT NULL CHECK (status IN ('final', 'provisional', 'estimated', 'news')),
  basis           text NOT NULL,
  -- When it was published: the start of the vintage it opens (if it opens one).
  published_at    timestamptz NOT NULL,
  document_id     bigint NOT NULL REFERENCES raw.document (id),
  url             text NOT NULL,
  locator         text NOT NULL,
  parser_version  text NOT NULL,
  UNIQUE (document_id, district, indicator, measure, accumulation, period)
);
CREATE INDEX publication_key_idx ON core.publication (district, indicator, measure, accumulation, period, published_at);

-- Every vintage stored so far was a publication.
INSERT INTO core.publication (district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis,
                              published_at, document_id, url, locator, parser_version)
SELECT district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis,
       valid_from, document_id, url, locator, parser_version
FROM core.observation
ON CONFLICT DO NOTHING;
