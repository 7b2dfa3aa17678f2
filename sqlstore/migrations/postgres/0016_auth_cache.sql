-- The revocation cache (docs/architecture.md, "Revocation cache"): each
-- server node keeps sessions and API keys in memory while it holds a live
-- lease here, and drops entries when the rows behind them change.

-- One row per node. A node renews expires_at over its listening
-- connection; a revocation that cannot get a node's acknowledgement sets
-- fenced, which stops further renewals of that epoch, and waits out
-- expires_at.
CREATE TABLE cache_leases (
    node_id    TEXT PRIMARY KEY,
    epoch      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    fenced     BOOLEAN NOT NULL DEFAULT FALSE
);

-- Every change to a row an AuthContext is built from is announced on the
-- latchkey_cache channel, at commit, whatever wrote it (the server, a
-- migration, an operator's psql). TG_ARGV: the tag's letter and the column
-- it names: s:<session id>, u:<user id>, o:<org id>, k:<api key id>.
CREATE FUNCTION latchkey_cache_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r JSONB;
BEGIN
    IF TG_OP = 'INSERT' THEN
        r := to_jsonb(NEW);
    ELSE
        r := to_jsonb(OLD);
    END IF;
    PERFORM pg_notify('latchkey_cache', TG_ARGV[0] || ':' || (r ->> TG_ARGV[1]));
    RETURN NULL;
END $$;

-- Not on a refresh, which sets only last_seen_at and expires_at (later):
-- announcing every refresh cost it a quarter of its throughput, and a copy
-- with the earlier expiry can only refuse sooner; caches read entries
-- again after a minute (authcache.DefaultMaxAge).
CREATE TRIGGER sessions_cache AFTER UPDATE OF user_id, org_id, authenticated_at, revoked_at, aal, amr, mfa_at, sso OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION latchkey_cache_changed('s', 'id');
CREATE TRIGGER users_cache AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION latchkey_cache_changed('u', 'id');
CREATE TRIGGER orgs_cache AFTER UPDATE OR DELETE ON orgs
    FOR EACH ROW EXECUTE FUNCTION latchkey_cache_changed('o', 'id');
-- A membership is the role of a session's user and of a key's creator.
CREATE TRIGGER memberships_cache AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION latchkey_cache_changed('u', 'user_id');
-- Only a confirmed factor counts (MFAEnrolled), so an insert, which is
-- always unconfirmed, changes nothing cached.
CREATE TRIGGER mfa_factors_cache AFTER UPDATE OR DELETE ON mfa_factors
    FOR EACH ROW EXECUTE FUNCTION latchkey_cache_changed('u', 'user_id');
CREATE TRIGGER api_keys_cache AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION latchkey_cache_changed('k', 'id');

-- latchkey_cache_barrier announces a barrier and returns the leases that
-- may still be serving from a cache, in one statement. The leases are read
-- after the changes the barrier covers committed, and before the barrier's
-- own notification is delivered (at this statement's commit): a node whose
-- lease is listed was listening before that delivery, so it will receive
-- it; a node whose lease is not listed writes its next lease, and only then
-- empties its cache, after this read.
CREATE FUNCTION latchkey_cache_barrier(payload TEXT)
    RETURNS TABLE (node_id TEXT, epoch BIGINT) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('latchkey_cache', payload);
    RETURN QUERY SELECT l.node_id, l.epoch FROM cache_leases l WHERE l.expires_at > clock_timestamp();
END $$;
