-- The revocation cache is PostgreSQL's (docs/architecture.md, "Revocation
-- cache"): SQLite serves one node, whose per-request reads are in-process
-- index lookups, so it keeps no cache and needs no schema for one.
SELECT 1;
