-- +goose Up
-- Times are Unix nanoseconds (0 = unset) so both dialects share one encoding.
CREATE TABLE businesses (
    id                  INTEGER PRIMARY KEY,
    slug                TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    language            TEXT    NOT NULL DEFAULT 'en',
    domain              TEXT    UNIQUE,
    hide_unknown_emails INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    email               TEXT    NOT NULL,
    email_key           TEXT    NOT NULL UNIQUE,
    full_name           TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,
    is_admin            INTEGER NOT NULL DEFAULT 0,
    active              INTEGER NOT NULL DEFAULT 1,
    language            TEXT    NOT NULL DEFAULT 'en',
    default_business_id INTEGER REFERENCES businesses(id),
    token_version       INTEGER NOT NULL DEFAULT 0,
    tokens_revoked_at   INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE profiles (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    business_id INTEGER NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, business_id)
);
CREATE INDEX profiles_business ON profiles(business_id);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT    NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY,
    algorithm   TEXT    NOT NULL,
    public_key  BLOB    NOT NULL,
    private_key BLOB    NOT NULL,
    sealed      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE revoked_tokens (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE spent_tokens (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    hash         BLOB    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    business_id  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER NOT NULL DEFAULT 0,
    user_agent   TEXT    NOT NULL DEFAULT '',
    client_ip    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE reset_tokens (
    hash        BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    business_id INTEGER NOT NULL,
    language    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    spent_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reset_tokens_user ON reset_tokens(user_id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    from_name       TEXT    NOT NULL,
    to_addr         TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    sent_at         INTEGER NOT NULL DEFAULT 0,
    dead            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at = 0 AND dead = 0;

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    user_id     INTEGER NOT NULL DEFAULT 0,
    business_id INTEGER NOT NULL DEFAULT 0,
    actor_id    INTEGER NOT NULL DEFAULT 0,
    client_ip   TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit_events(at);
CREATE INDEX audit_user ON audit_events(user_id, at);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE outbox;
DROP TABLE reset_tokens;
DROP TABLE sessions;
DROP TABLE spent_tokens;
DROP TABLE revoked_tokens;
DROP TABLE signing_keys;
DROP TABLE user_roles;
DROP TABLE profiles;
DROP TABLE users;
DROP TABLE businesses;
