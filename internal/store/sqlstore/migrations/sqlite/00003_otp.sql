-- +goose Up
-- Passwordless sign-in codes (SPEC §5.5); only a hash of each code is kept.
CREATE TABLE otp_codes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    business_id INTEGER NOT NULL,
    code_hash   BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    tries       INTEGER NOT NULL DEFAULT 0,
    spent_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX otp_codes_user ON otp_codes(user_id, id);

-- +goose Down
DROP TABLE otp_codes;
