-- Why: every archived page cost PostgreSQL a pglz pass over bytes we already gzip (which never shrink) and a slow one over the decoded text; store the gzip as is and compress the text with lz4 (pnpm bench, measure "pipeline").

-- Already gzip-compressed by the fetcher: kept out of line without another compression attempt.
ALTER TABLE raw.document ALTER COLUMN body_gzip SET STORAGE EXTERNAL;
-- lz4 is several times cheaper than pglz for a similar ratio on HTML text. Rows already stored
-- keep their compression; PostgreSQL reads both.
ALTER TABLE raw.document ALTER COLUMN text SET COMPRESSION lz4;
