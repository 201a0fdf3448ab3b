-- Why: consumers read agg over SQL as nst_reader, which may SELECT from agg and nothing else.

DO $$
BEGIN
  CREATE ROLE nst_reader LOGIN NOINHERIT;
EXCEPTION
  -- Roles are cluster-wide: another database (or a concurrent migrator) may have made it already.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

REVOKE ALL ON SCHEMA raw, core FROM nst_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA raw, core FROM nst_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA agg TO nst_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA agg TO nst_reader;
-- Tables and views added to agg by later migrations are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA agg GRANT SELECT ON TABLES TO nst_reader;
