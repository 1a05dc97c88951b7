-- +goose Up
-- Passkeys (SPEC §9): WebAuthn credentials per user and relying party (the
-- tenant host), and the one-time challenges of pending ceremonies, kept
-- under the hash of the handle the browser or app holds.
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    rp_id         TEXT    NOT NULL,
    credential_id BLOB    NOT NULL,
    name          TEXT    NOT NULL,
    data          BLOB    NOT NULL,
    sign_count    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (rp_id, credential_id)
);
CREATE INDEX passkeys_user ON passkeys(user_id, rp_id);
CREATE TABLE webauthn_challenges (
    hash        BLOB    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    user_id     INTEGER NOT NULL DEFAULT 0,
    business_id INTEGER NOT NULL,
    rp_id       TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges(expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
