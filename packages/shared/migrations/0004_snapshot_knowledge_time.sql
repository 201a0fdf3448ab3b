-- Why: a progress snapshot is valid over a knowledge interval (what was known from when to when), so consumers can ask what the progress looked like on any date; tracked indicators have no numeric goal.

-- No aggregator wrote snapshots before this migration: the table is replaced, not altered.
DROP VIEW agg.latest_progress;
DROP TABLE agg.progress_snapshot;

CREATE TABLE agg.progress_snapshot (
  id                  bigserial PRIMARY KEY,
  release             text NOT NULL,
  target_key          text NOT NULL,
  scope               text NOT NULL,
  indicator           text NOT NULL,
  kind                text NOT NULL,
  target_value        numeric,
  unit                text NOT NULL,
  unit_mult           smallint NOT NULL,
  base_year           integer NOT NULL,
  target_year         integer NOT NULL,
  -- The figure progress is measured with: the annual figure when published, else the latest ytd.
  actual_value        numeric,
  actual_period       text,
  actual_accumulation text,
  partial             boolean NOT NULL DEFAULT false,
  actual_status       text,
  base_value          numeric,
  progress_pct        numeric,
  gap                 numeric,
  cagr_realised_pct   numeric,
  cagr_required_pct   numeric,
  projected_value     numeric,
  status              text NOT NULL CHECK (status IN ('achieved', 'on_track', 'behind', 'missed', 'insufficient_data', 'tracked')),
  detail              jsonb NOT NULL DEFAULT '{}'::jsonb,
  inputs              jsonb NOT NULL DEFAULT '[]'::jsonb,
  inputs_checksum     text NOT NULL,
  -- Knowledge interval: from the publication of the newest input vintage until superseded.
  known_from          timestamptz NOT NULL,
  known_to            timestamptz CHECK (known_to IS NULL OR known_to > known_from),
  computed_at         timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (release, target_key) REFERENCES agg.target (release, key),
  UNIQUE (release, target_key, known_from)
);
CREATE UNIQUE INDEX progress_snapshot_current_idx ON agg.progress_snapshot (release, target_key) WHERE known_to IS NULL;

-- The snapshot in force now, per target: what a dashboard shows.
CREATE VIEW agg.latest_progress AS
  SELECT * FROM agg.progress_snapshot WHERE known_to IS NULL;

-- The snapshot in force at `as_of`, per target: what was known then.
CREATE FUNCTION agg.progress_as_of(as_of timestamptz)
RETURNS SETOF agg.progress_snapshot
LANGUAGE sql STABLE AS $$
  SELECT * FROM agg.progress_snapshot
  WHERE known_from <= as_of AND (known_to IS NULL OR known_to > as_of)
$$;

GRANT SELECT ON agg.progress_snapshot, agg.latest_progress TO nst_reader;
GRANT EXECUTE ON FUNCTION agg.progress_as_of(timestamptz) TO nst_reader;
