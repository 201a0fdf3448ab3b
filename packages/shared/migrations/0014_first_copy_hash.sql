-- Why: the canonical hash of a page costs about half a millisecond of the fetcher's CPU for a 20 KB page, and a URL's first copy is compared with nothing (a discovered document is never fetched again but with --force), so the fetcher now works it out only when a later fetch of the URL needs it (pnpm bench, measure "pipeline").

COMMENT ON COLUMN raw.document.canonical_version IS
  'Version of the canonical form sha256_canonical was computed under; 0: the first HTML copy of its URL, whose sha256_canonical is a placeholder, sha256(''first copy of '' || url), until the URL is fetched again and the copy is re-hashed from its text.';
