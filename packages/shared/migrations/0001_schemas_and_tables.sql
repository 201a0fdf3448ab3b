-- Why: the three stage schemas (raw archive, core records, agg consumer tables) of DESIGN.md.

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS agg;

-- ─── raw: what the fetcher saw ───────────────────────────────────────────────────────────────

-- The source registry, loaded from seeds/sources.yaml (upserted by key; never deleted, only disabled).
CREATE TABLE raw.source (
  key           text PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9_-]*$'),
  name          text NOT NULL,
  publisher     text NOT NULL,
  district      text CHECK (district IN ('baoshan', 'jinshan', 'shanghai')),
  format        text NOT NULL CHECK (format IN ('stats-table', 'bulletin', 'news-list', 'news-article', 'xls')),
  url           text NOT NULL,
  schedule      text NOT NULL,
  lang          text NOT NULL DEFAULT 'zh',
  enabled       boolean NOT NULL DEFAULT true,
  politeness    jsonb NOT NULL DEFAULT '{}'::jsonb,
  discovery     jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The archive: verbatim bytes (gzip) plus what is needed to re-read them forever without network.
CREATE TABLE raw.document (
  id                bigserial PRIMARY KEY,
  source_key        text NOT NULL REFERENCES raw.source (key),
  url               text NOT NULL,
  final_url         text NOT NULL,
  http_status       integer NOT NULL,
  headers           jsonb NOT NULL DEFAULT '{}'::jsonb,
  content_type      text,
  charset           text,
  body_gzip         bytea NOT NULL,
  body_size         integer NOT NULL CHECK (body_size >= 0),
  text              text,
  sha256_bytes      text NOT NULL CHECK (sha256_bytes ~ '^[0-9a-f]{64}$'),
  sha256_canonical  text NOT NULL CHECK (sha256_canonical ~ '^[0-9a-f]{64}$'),
  etag              text,
  last_modified     text,
  published_at      timestamptz,
  fetched_at        timestamptz NOT NULL DEFAULT now(),
  -- The same canonical content of the same URL is archived once, however often it is fetched.
  UNIQUE (source_key, url, sha256_canonical)
);
CREATE INDEX document_url_idx ON raw.document (url, fetched_at DESC);
CREATE INDEX document_source_fetched_idx ON raw.document (source_key, fetched_at DESC);

-- Every fetch attempt, whatever its outcome.
CREATE TABLE raw.fetch_log (
  id            bigserial PRIMARY KEY,
  source_key    text NOT NULL,
  url           text NOT NULL,
  job_id        text,
  attempt       integer NOT NULL DEFAULT 1,
  outcome       text NOT NULL CHECK (outcome IN ('archived', 'unchanged', 'not_modified', 'retry', 'failed', 'refused', 'skipped')),
  http_status   integer,
  error_code    text,
  error_message text,
  document_id   bigint REFERENCES raw.document (id),
  duration_ms   integer NOT NULL DEFAULT 0,
  at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fetch_log_source_at_idx ON raw.fetch_log (source_key, at DESC);

-- ─── core: validated records ─────────────────────────────────────────────────────────────────

-- The indicator catalog, loaded from seeds/indicators.yaml.
CREATE TABLE core.indicator (
  code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
  name_zh     text NOT NULL,
  name_en     text NOT NULL,
  aliases     text[] NOT NULL DEFAULT '{}',
  unit        text NOT NULL CHECK (unit IN ('CNY', 'pct', 'pp', 'count')),
  unit_mult   smallint NOT NULL DEFAULT 0,
  additive    boolean NOT NULL,
  description text
);

-- One row per vintage of one observation key. A vintage is open while valid_to IS NULL.
CREATE TABLE core.observation (
  id              bigserial PRIMARY KEY,
  district        text NOT NULL CHECK (district IN ('baoshan', 'jinshan', 'shanghai')),
  indicator       text NOT NULL REFERENCES core.indicator (code),
  measure         text NOT NULL CHECK (measure IN ('level', 'yoy_pct', 'share_pct', 'pp_change')),
  accumulation    text NOT NULL CHECK (accumulation IN ('period', 'ytd')),
  period          text NOT NULL CHECK (period ~ '^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]))?$'),
  period_start    date NOT NULL,
  period_end      date NOT NULL CHECK (period_end >= period_start),
  basis           text NOT NULL DEFAULT 'unknown' CHECK (basis IN ('comparable', 'nominal', 'unknown')),
  value           numeric NOT NULL,
  unit            text NOT NULL CHECK (unit IN ('CNY', 'pct', 'pp', 'count')),
  unit_mult       smallint NOT NULL DEFAULT 0,
  raw_value       text NOT NULL,
  status          text NOT NULL CHECK (status IN ('final', 'provisional', 'estimated', 'news')),
  valid_from      timestamptz NOT NULL,
  valid_to        timestamptz CHECK (valid_to IS NULL OR valid_to > valid_from),
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  document_id     bigint NOT NULL REFERENCES raw.document (id),
  url             text NOT NULL,
  locator         text NOT NULL,
  parser_version  text NOT NULL,
  UNIQUE (district, indicator, measure, accumulation, period, valid_from)
);
-- At most one open vintage per key: the invariant that makes `observation_current` well defined.
CREATE UNIQUE INDEX observation_open_vintage_idx
  ON core.observation (district, indicator, measure, accumulation, period) WHERE valid_to IS NULL;
CREATE INDEX observation_document_idx ON core.observation (document_id);
CREATE INDEX observation_indicator_idx ON core.observation (indicator, district, period);

CREATE VIEW core.observation_current AS
  SELECT * FROM core.observation WHERE valid_to IS NULL;

-- What was known at `as_of`: the vintage of each key valid at that instant.
CREATE FUNCTION core.observation_as_of(as_of timestamptz)
RETURNS SETOF core.observation
LANGUAGE sql STABLE AS $$
  SELECT * FROM core.observation
  WHERE valid_from <= as_of AND (valid_to IS NULL OR valid_to > as_of)
$$;

CREATE TABLE core.news_item (
  id            bigserial PRIMARY KEY,
  document_id   bigint NOT NULL REFERENCES raw.document (id),
  url           text NOT NULL UNIQUE,
  title         text NOT NULL,
  lang          text NOT NULL DEFAULT 'zh',
  published_at  timestamptz,
  districts     text[] NOT NULL DEFAULT '{}',
  industries    text[] NOT NULL DEFAULT '{}',
  areas         text[] NOT NULL DEFAULT '{}',
  summary       text,
  parser_version text NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX news_item_published_idx ON core.news_item (published_at DESC);

-- A goal stated in a document ("力争达到", "strives to reach"): never an observation.
CREATE TABLE core.target_mention (
  id             bigserial PRIMARY KEY,
  document_id    bigint NOT NULL REFERENCES raw.document (id),
  scope          text NOT NULL CHECK (scope IN ('baoshan', 'jinshan', 'shanghai', 'north_south')),
  indicator      text REFERENCES core.indicator (code),
  value          numeric,
  unit           text,
  unit_mult      smallint,
  target_year    integer,
  raw_text       text NOT NULL,
  locator        text NOT NULL,
  parser_version text NOT NULL,
  UNIQUE (document_id, locator)
);

-- What failed validation, and why. Re-normalizing a document replaces its rejects.
CREATE TABLE core.reject (
  id             bigserial PRIMARY KEY,
  document_id    bigint REFERENCES raw.document (id),
  source_key     text,
  reason         text NOT NULL,
  detail         text,
  locator        text NOT NULL DEFAULT '',
  raw            jsonb,
  parser_version text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reject_document_idx ON core.reject (document_id);
CREATE INDEX reject_created_idx ON core.reject (created_at DESC);

-- ─── agg: what consumers read ────────────────────────────────────────────────────────────────

-- One row per plan document (the 2022 Opinions; later the 15th Five-Year Plan, ...).
CREATE TABLE agg.plan_release (
  key         text PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9_-]*$'),
  title_zh    text NOT NULL,
  title_en    text NOT NULL,
  issued_on   date NOT NULL,
  url         text
);

CREATE TABLE agg.target (
  release       text NOT NULL REFERENCES agg.plan_release (key),
  key           text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9_-]*$'),
  scope         text NOT NULL CHECK (scope IN ('baoshan', 'jinshan', 'shanghai', 'north_south')),
  indicator     text NOT NULL REFERENCES core.indicator (code),
  kind          text NOT NULL CHECK (kind IN ('level', 'growth_above_city', 'share_of_city_increment', 'tracked')),
  value         numeric,
  unit          text NOT NULL CHECK (unit IN ('CNY', 'pct', 'pp', 'count')),
  unit_mult     smallint NOT NULL DEFAULT 0,
  base_year     integer NOT NULL,
  target_year   integer NOT NULL CHECK (target_year > base_year),
  description_zh text NOT NULL,
  description_en text NOT NULL,
  source        text NOT NULL,
  PRIMARY KEY (release, key)
);

-- History of progress toward each target; a row is written only when its inputs changed.
CREATE TABLE agg.progress_snapshot (
  id                bigserial PRIMARY KEY,
  release           text NOT NULL,
  target_key        text NOT NULL,
  scope             text NOT NULL,
  indicator         text NOT NULL,
  kind              text NOT NULL,
  target_value      numeric,
  unit              text NOT NULL,
  unit_mult         smallint NOT NULL,
  base_year         integer NOT NULL,
  target_year       integer NOT NULL,
  actual_value      numeric,
  actual_period     text,
  actual_accumulation text,
  partial           boolean NOT NULL DEFAULT false,
  actual_status     text,
  progress_pct      numeric,
  gap               numeric,
  cagr_realised_pct numeric,
  cagr_required_pct numeric,
  projected_value   numeric,
  status            text NOT NULL CHECK (status IN ('achieved', 'on_track', 'behind', 'missed', 'insufficient_data')),
  detail            jsonb NOT NULL DEFAULT '{}'::jsonb,
  inputs            jsonb NOT NULL DEFAULT '[]'::jsonb,
  inputs_checksum   text NOT NULL,
  computed_at       timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (release, target_key) REFERENCES agg.target (release, key),
  UNIQUE (release, target_key, inputs_checksum)
);
CREATE INDEX progress_snapshot_target_idx ON agg.progress_snapshot (release, target_key, computed_at DESC);

-- The latest snapshot per target: what a dashboard shows.
CREATE VIEW agg.latest_progress AS
  SELECT DISTINCT ON (release, target_key) *
  FROM agg.progress_snapshot
  ORDER BY release, target_key, computed_at DESC, id DESC;

-- Current observations with their source, for consumers who may not read core or raw.
CREATE VIEW agg.series AS
  SELECT o.district, o.indicator, o.measure, o.accumulation, o.period, o.period_start, o.period_end,
         o.basis, o.value, o.unit, o.unit_mult, o.status, o.valid_from, o.url AS source_url, o.locator
  FROM core.observation o
  WHERE o.valid_to IS NULL;
