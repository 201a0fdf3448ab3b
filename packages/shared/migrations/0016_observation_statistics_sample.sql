-- Why: the normalizer's statistics keeper analyzes core.observation each time it doubles, and with the default sample (30,000 rows) each ANALYZE of its key columns cost 100–130 ms of PostgreSQL's CPU, about 0.6 s of a backfill of the benchmark's site; a 3,000-row sample costs a fifth of that (pnpm bench, measure "pipeline").
--
-- What reads core.observation does so by equality on whole keys, by document or by series (the key
-- index, observation_document_idx, observation_series_valid_from_idx), and the normalizer's state
-- read is fenced to probe the key index whatever the statistics say: the planner needs the table's
-- size and rough frequencies from these columns, not fine histograms. A target of 10 keeps the ten
-- commonest values of each column and a ten-bucket histogram. The keeper names exactly these
-- columns, so its ANALYZE samples 3,000 rows; one of the whole table (autovacuum's) still samples
-- 30,000, for the columns left at the default.
ALTER TABLE core.observation
  ALTER COLUMN district SET STATISTICS 10,
  ALTER COLUMN indicator SET STATISTICS 10,
  ALTER COLUMN measure SET STATISTICS 10,
  ALTER COLUMN accumulation SET STATISTICS 10,
  ALTER COLUMN period SET STATISTICS 10,
  ALTER COLUMN document_id SET STATISTICS 10,
  ALTER COLUMN valid_from SET STATISTICS 10;
