-- Emails are unique case-insensitively (contract §3). The domain stores
-- them lower-cased; this index holds even for a writer that forgets to.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
