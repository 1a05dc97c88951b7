-- +goose Up
-- A reset link carries the user's token version at issue, like every other
-- credential (SPEC §6): one requested while a revocation committed is dead.
-- Live links of the upgrade take the user's current version.
ALTER TABLE reset_tokens ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
UPDATE reset_tokens SET token_version = (SELECT u.token_version FROM users u WHERE u.id = reset_tokens.user_id);

-- +goose Down
ALTER TABLE reset_tokens DROP COLUMN token_version;
