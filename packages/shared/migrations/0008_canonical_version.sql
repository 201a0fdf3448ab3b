-- Why: the canonical text changed definition (a streaming parser instead of a DOM), so each archived copy records which version its sha256_canonical was computed under, and the fetcher re-hashes an older copy from its text instead of archiving an unchanged page again after a deploy.

-- Every row so far was hashed under version 1. The default stays 1 (a constant default: no table
-- rewrite) so a fetcher that predates this column, during a rolling deploy, labels its rows truthfully;
-- the current fetcher writes its version explicitly.
ALTER TABLE raw.document ADD COLUMN canonical_version smallint NOT NULL DEFAULT 1;
