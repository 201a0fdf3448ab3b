-- Why: the aggregator opens a target's history at the first vintage of its series; with a long history stored, finding it must be an index lookup, not a scan of the indicator's rows (pnpm bench, measure "aggregate").

CREATE INDEX observation_indicator_valid_from_idx ON core.observation (indicator, valid_from, id);
