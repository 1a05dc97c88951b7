-- +goose Up
-- OAuth2 refresh tokens (SPEC §5.1): only hashes are kept. A family is the
-- chain of rotations from one password grant; reuse of a rotated member
-- revokes the family.
CREATE TABLE refresh_tokens (
    hash       BLOB    PRIMARY KEY,
    family     TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family);
CREATE INDEX refresh_tokens_user_client ON refresh_tokens(user_id, client_id);

-- +goose Down
DROP TABLE refresh_tokens;
