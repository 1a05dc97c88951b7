-- +goose Up
-- A user who must choose a new password before signing in (SPEC §3.1, §5.1).
ALTER TABLE users ADD COLUMN must_reset BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE users DROP COLUMN must_reset;
