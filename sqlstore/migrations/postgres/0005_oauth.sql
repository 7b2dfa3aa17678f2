-- OAuth (issue 5): a user has at most one identity per provider, so
-- auth.oauth.unlink can name the identity by provider alone.
CREATE UNIQUE INDEX oauth_identities_user_provider ON oauth_identities (user_id, provider);
