-- Why: re-normalizing a document whose parse gives exactly the records last stored (a reprocess with no parser change) should cost a parse, not a transaction of reads and locks; the digest of what was stored says so.

-- sha256 of the records, their validity and the parser/storage versions, written in the same
-- transaction as the rows; NULL until a document is stored by a normalizer that writes it.
ALTER TABLE raw.document ADD COLUMN records_digest text;
