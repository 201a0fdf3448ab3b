-- Why: every vintage written maintains each index of core.observation (six of them, and an update
-- that closes a vintage is never HOT: valid_to is in the open-vintage index's predicate).
-- (indicator, district, period) of 0001 serves no query the others cannot: the normalizer looks
-- keys up by the unique key (district, indicator, measure, accumulation, period, valid_from), the
-- aggregator by (indicator, district, measure, valid_from, id) of 0009, and consumers' filters on
-- indicator and district use either prefix.

DROP INDEX core.observation_indicator_idx;
