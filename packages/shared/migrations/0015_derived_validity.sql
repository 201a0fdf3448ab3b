-- Why: a vintage ends where the next vintage of its key starts, always (deriveVintages), so its end
-- is now derived on read instead of written. Writing it cost the normalizer an UPDATE of the open
-- vintage for every revision stored after it (about 90,000 in a backfill of the benchmark's site,
-- each a new row version in every index of core.observation, a quarter of PostgreSQL's work in the
-- store), and the partial index that kept one open vintage per key. The open vintage of a key is
-- now its latest, which the unique key (key, valid_from) makes one by construction.

-- The stored ends must be those derived, or dropping them would change what consumers read. The
-- store has always written them so; a database edited by hand may not have.
DO $$
DECLARE
  mismatched bigint;
  example text;
BEGIN
  SELECT count(*), min(concat_ws('|', indicator, district, period, measure, accumulation, valid_from))
  INTO mismatched, example
  FROM (SELECT indicator, district, period, measure, accumulation, valid_from, valid_to,
               lead(valid_from) OVER (PARTITION BY indicator, district, period, measure, accumulation ORDER BY valid_from) AS next_from
        FROM core.observation) v
  WHERE date_trunc('milliseconds', v.valid_to) IS DISTINCT FROM date_trunc('milliseconds', v.next_from);
  IF mismatched > 0 THEN
    RAISE EXCEPTION '% vintages of core.observation end elsewhere than where the next vintage of their key starts (the first: %)', mismatched, example
      USING HINT = 'Set each valid_to to the next valid_from of its key (NULL for the latest) to accept the derived validity, then migrate again.';
  END IF;
END
$$;

-- Everything that reads valid_to goes with it, and comes back below reading the derived one.
DROP VIEW agg.observation_source;
DROP VIEW agg.series;
DROP FUNCTION core.observation_as_of(timestamptz);
DROP VIEW core.observation_current;
DROP INDEX core.observation_open_vintage_idx;
ALTER TABLE core.observation DROP COLUMN valid_to;

-- Every vintage, with its end: the start of the next vintage of its key (NULL: the vintage is open).
-- The columns are core.observation's in their order, valid_to where it was. The end is one probe of
-- the key's unique index per row, so a lookup by id or key reads only the rows it returns.
CREATE VIEW core.observation_vintage AS
  SELECT o.id, o.district, o.indicator, o.measure, o.accumulation, o.period, o.period_start, o.period_end, o.basis, o.value, o.unit,
         o.unit_mult, o.raw_value, o.status, o.valid_from,
         (SELECT min(n.valid_from) FROM core.observation n
          WHERE (n.indicator, n.district, n.period, n.measure, n.accumulation) = (o.indicator, o.district, o.period, o.measure, o.accumulation)
            AND n.valid_from > o.valid_from) AS valid_to,
         o.recorded_at, o.document_id, o.url, o.locator, o.parser_version
  FROM core.observation o;

-- The open vintage of every key: the latest. Same columns as before (valid_to is NULL).
CREATE VIEW core.observation_current AS
  SELECT o.id, o.district, o.indicator, o.measure, o.accumulation, o.period, o.period_start, o.period_end, o.basis, o.value, o.unit,
         o.unit_mult, o.raw_value, o.status, o.valid_from, NULL::timestamptz AS valid_to,
         o.recorded_at, o.document_id, o.url, o.locator, o.parser_version
  FROM core.observation o
  WHERE NOT EXISTS (SELECT 1 FROM core.observation n
                    WHERE (n.indicator, n.district, n.period, n.measure, n.accumulation) = (o.indicator, o.district, o.period, o.measure, o.accumulation)
                      AND n.valid_from > o.valid_from);

-- What was known at `as_of`: the vintage of each key valid at that instant.
CREATE FUNCTION core.observation_as_of(as_of timestamptz)
RETURNS SETOF core.observation_vintage
LANGUAGE sql STABLE AS $$
  SELECT * FROM core.observation_vintage
  WHERE valid_from <= as_of AND (valid_to IS NULL OR valid_to > as_of)
$$;

-- The consumer views, as 0005 left them.
CREATE VIEW agg.series AS
  SELECT o.district, o.indicator, o.measure, o.accumulation, o.period, o.period_start, o.period_end,
         o.basis, o.value, o.unit, o.unit_mult, o.status, o.valid_from, o.url AS source_url, o.locator,
         o.id AS observation_id, o.document_id, o.raw_value
  FROM core.observation_current o;

CREATE VIEW agg.observation_source AS
  SELECT o.id AS observation_id, o.document_id, o.url AS source_url, o.locator, o.raw_value,
         o.parser_version, o.valid_from, o.valid_to
  FROM core.observation_vintage o;

GRANT SELECT ON agg.series, agg.observation_source TO nst_reader;
