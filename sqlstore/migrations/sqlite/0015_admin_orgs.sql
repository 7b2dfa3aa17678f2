-- admin.orgs.list finds orgs by slug prefix: a range that SQLite's UNIQUE
-- index on slug (BINARY, byte order) serves already. The file keeps the
-- two dialects' migration lists alike.
SELECT 1;
