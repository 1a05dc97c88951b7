-- +goose Up
-- The impersonating administrator of a session opened from an impersonation
-- link (0 when none): such a session may not add lasting credentials (a
-- passkey, TOTP) to the impersonated account.
ALTER TABLE sessions ADD COLUMN actor_id BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sessions DROP COLUMN actor_id;
