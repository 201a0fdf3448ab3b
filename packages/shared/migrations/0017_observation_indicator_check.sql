-- Why: the foreign key from core.observation to the indicator catalog checked and row-locked the catalog row once for every vintage row inserted (about 128,000 a backfill of the benchmark's site), on the few rows every store transaction shares, and cost about 1 s of PostgreSQL's CPU in an N = 200 pipeline run, a fortieth of the run (pnpm bench, measure "pipeline"; alone, 8 µs a row of a 1,000-row insert); the same guarantee is now checked once per statement, for about a sixth of that.
--
-- What it guarantees is what the foreign key guaranteed: no vintage names an indicator that is
-- not in core.indicator, and no indicator a vintage names is deleted, renamed or truncated away.
-- The inserting side locks the catalog rows its statement names FOR KEY SHARE, as the foreign key
-- did, so a DELETE or a change of code waits for it and then sees its rows; a statement naming an
-- indicator that is not there fails with foreign_key_violation, under the constraint's old name
-- and with its messages (naming the first missing indicator in code order, where the key named
-- the first row's). The provenance key (document_id → raw.document) stays a foreign key.
--
-- The differences, each a refusal or a matter for the table's owner:
-- - deleting, renaming or truncating an indicator is refused in a REPEATABLE READ or SERIALIZABLE
--   transaction, where the check could not see vintages committed after its snapshot (the foreign
--   key looked past it). Nothing in the pipeline does any of it; `nst seed` only inserts and
--   updates the other columns;
-- - TRUNCATE core.indicator is refused while core.observation has rows, CASCADE or not (CASCADE
--   no longer reaches core.observation): truncate both in one command;
-- - the checks are triggers: the owner's `ALTER TABLE … DISABLE TRIGGER USER` turns them off (the
--   key needed a superuser's DISABLE TRIGGER ALL), and they run with the writer's privileges
--   (SELECT and UPDATE on core.indicator for FOR KEY SHARE; the services' role owns both tables);
-- - a restore creates the triggers after loading the data, so it does not check the rows loaded.
ALTER TABLE core.observation DROP CONSTRAINT observation_indicator_fkey;

-- The foreign key's error when a vintage names an indicator that is not in the catalog.
CREATE FUNCTION core.observation_indicator_missing(missing text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'insert or update on table "observation" violates foreign key constraint "observation_indicator_fkey"'
    USING ERRCODE = 'foreign_key_violation', SCHEMA = 'core', TABLE = 'observation', CONSTRAINT = 'observation_indicator_fkey',
          DETAIL = format('Key (indicator)=(%s) is not present in table "indicator".', missing);
END
$$;

-- Every indicator the statement's new rows name exists, and is locked until the transaction ends:
-- each distinct one looked up and locked once (one pass over the new rows; a second pass, or a
-- probe per row, cost about what the foreign key did). A row deleted while its lock waited is
-- not returned, so it counts as missing.
CREATE FUNCTION core.observation_indicators_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing text;
BEGIN
  SELECT min(n.indicator) FILTER (WHERE i.code IS NULL) INTO missing
  FROM (SELECT DISTINCT indicator FROM new_observations) n
  LEFT JOIN LATERAL (SELECT x.code FROM core.indicator x WHERE x.code = n.indicator FOR KEY SHARE) i ON true;
  IF missing IS NOT NULL THEN
    PERFORM core.observation_indicator_missing(missing);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER observation_indicators_exist_insert AFTER INSERT ON core.observation
  REFERENCING NEW TABLE AS new_observations FOR EACH STATEMENT EXECUTE FUNCTION core.observation_indicators_exist();

-- An UPDATE that changes a vintage's indicator, row by row (transition tables cannot be given a
-- column list, and the store never changes a vintage's key: like the foreign key, an update that
-- leaves the indicator as it was is not checked).
CREATE FUNCTION core.observation_indicator_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM FROM core.indicator i WHERE i.code = NEW.indicator FOR KEY SHARE;
  IF NOT FOUND THEN
    PERFORM core.observation_indicator_missing(NEW.indicator);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER observation_indicator_exists_update AFTER UPDATE OF indicator ON core.observation
  FOR EACH ROW WHEN (NEW.indicator IS DISTINCT FROM OLD.indicator) EXECUTE FUNCTION core.observation_indicator_exists();

-- The catalog side runs only where a fresh snapshot sees every committed vintage (READ
-- UNCOMMITTED is READ COMMITTED in PostgreSQL).
CREATE FUNCTION core.indicator_change_read_committed() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('transaction_isolation') NOT IN ('read committed', 'read uncommitted') THEN
    RAISE EXCEPTION 'an indicator is deleted, given another code or truncated only in a READ COMMITTED transaction'
      USING ERRCODE = 'feature_not_supported', SCHEMA = 'core', TABLE = 'indicator',
            HINT = 'core.observation''s check of its indicators cannot see past this transaction''s snapshot; run the change in its own READ COMMITTED transaction.';
  END IF;
END
$$;

-- An indicator a vintage names is neither deleted nor given another code. After the row is
-- changed (so locked: a store holding it FOR KEY SHARE has ended), with a fresh snapshot, as the
-- foreign key's own check ran.
CREATE FUNCTION core.indicator_unreferenced_by_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM core.indicator_change_read_committed();
  IF EXISTS (SELECT FROM core.observation o WHERE o.indicator = OLD.code) THEN
    RAISE EXCEPTION 'update or delete on table "indicator" violates foreign key constraint "observation_indicator_fkey" on table "observation"'
      USING ERRCODE = 'foreign_key_violation', SCHEMA = 'core', TABLE = 'observation', CONSTRAINT = 'observation_indicator_fkey',
            DETAIL = format('Key (code)=(%s) is still referenced from table "observation".', OLD.code);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER indicator_unreferenced_delete AFTER DELETE ON core.indicator
  FOR EACH ROW EXECUTE FUNCTION core.indicator_unreferenced_by_observations();
CREATE TRIGGER indicator_unreferenced_update AFTER UPDATE OF code ON core.indicator
  FOR EACH ROW WHEN (NEW.code IS DISTINCT FROM OLD.code) EXECUTE FUNCTION core.indicator_unreferenced_by_observations();

-- TRUNCATE core.indicator leaves no vintage naming an indicator that is gone. After the
-- statement: `TRUNCATE core.observation, core.indicator …` empties both first.
CREATE FUNCTION core.indicator_truncated_with_observations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM core.indicator_change_read_committed();
  IF EXISTS (SELECT FROM core.observation) THEN
    RAISE EXCEPTION 'cannot truncate a table referenced in a foreign key constraint'
      USING ERRCODE = 'feature_not_supported', SCHEMA = 'core', TABLE = 'indicator', CONSTRAINT = 'observation_indicator_fkey',
            DETAIL = 'Table "observation" references "indicator".',
            HINT = 'Truncate table "observation" at the same time.';
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER indicator_truncated_with_observations AFTER TRUNCATE ON core.indicator
  FOR EACH STATEMENT EXECUTE FUNCTION core.indicator_truncated_with_observations();
