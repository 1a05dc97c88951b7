-- +goose Up
-- SPEC §6: the portal form's pending second-factor step is a credential of
-- its own (bound to one browser, 5 tries, 5 minutes), not a sign-in code.
-- Only hashes of the step token and of the browser binding are kept.
CREATE TABLE twofactor_pending (
    hash          BLOB    PRIMARY KEY,
    browser_hash  BLOB    NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    business_id   INTEGER NOT NULL,
    token_version INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    tries         INTEGER NOT NULL DEFAULT 0,
    spent_at      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX twofactor_pending_user ON twofactor_pending(user_id);

-- Every session and refresh token carries the user's token version at
-- issue (a credential issued from a check that began before a revocation
-- dies with it), and a refresh token remembers the impersonating actor.
-- Live credentials of the upgrade take the user's current version.
ALTER TABLE sessions ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN actor_id INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET token_version = (SELECT u.token_version FROM users u WHERE u.id = sessions.user_id);
UPDATE refresh_tokens SET token_version = (SELECT u.token_version FROM users u WHERE u.id = refresh_tokens.user_id);

-- +goose Down
ALTER TABLE refresh_tokens DROP COLUMN actor_id;
ALTER TABLE refresh_tokens DROP COLUMN token_version;
ALTER TABLE sessions DROP COLUMN token_version;
DROP TABLE twofactor_pending;
