-- Why: the aggregator opens a target's history at the first vintage of each (indicator, district, measure) series, and that lookup must stay a one-row index probe whatever the planner's statistics say (after a bulk load it sorted thousands of rows); (indicator, valid_from, id) of 0007 cannot bound district and measure.

CREATE INDEX observation_series_valid_from_idx ON core.observation (indicator, district, measure, valid_from, id);

-- The new index serves every lookup 0007's did (the aggregator was its only reader); one index
-- fewer to maintain on every vintage written.
DROP INDEX core.observation_indicator_valid_from_idx;
