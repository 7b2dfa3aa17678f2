-- admin.orgs.list finds orgs by slug prefix: a range in byte order, which
-- the UNIQUE index on slug (in the database's collation) cannot serve.
CREATE INDEX orgs_slug_prefix ON orgs (slug COLLATE "C");
