-- +goose Up
-- Refresh-token families, one row each however often they rotate (issue
-- #17): refresh_tokens grew by a row per rotation and was never pruned.
-- A family's tokens carry its id and their generation; the row keeps the
-- SHA-256 of the id (the key) and of the current token. A token of an
-- earlier generation is a reuse; docs/architecture.md explains the design.
CREATE TABLE refresh_families (
    id            BLOB    PRIMARY KEY,
    generation    INTEGER NOT NULL DEFAULT 0,
    hash          BLOB    NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    issued_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER NOT NULL DEFAULT 0,
    token_version INTEGER NOT NULL DEFAULT 0,
    actor_id      INTEGER NOT NULL DEFAULT 0,
    legacy        TEXT    NOT NULL DEFAULT ''
);
-- A new grant revokes the live families of its user and client only.
CREATE INDEX refresh_families_live ON refresh_families(user_id, client_id) WHERE revoked_at = 0;
-- The pruner's order (a revoked family's expires_at is its revocation).
CREATE INDEX refresh_families_expires ON refresh_families(expires_at);
CREATE INDEX refresh_families_legacy ON refresh_families(legacy) WHERE legacy <> '';

-- Every live token issued before this migration becomes a family of
-- generation 0 keyed by its own hash, so it keeps working.
INSERT INTO refresh_families (id, generation, hash, user_id, client_id, created_at, issued_at, expires_at,
                              token_version, actor_id, legacy)
SELECT hash, 0, hash, user_id, client_id, created_at, created_at, expires_at, token_version, actor_id, family
FROM refresh_tokens
WHERE rotated_at = 0 AND revoked_at = 0 AND expires_at > CAST(strftime('%s', 'now') AS INTEGER) * 1000000000;

-- The old tokens of those families, to detect their reuse: the rotated
-- ones, and the current ones (rotated from now on by the new code). They
-- end with their family's expiry at the migration, 15 days at most.
CREATE TABLE refresh_legacy (
    hash       BLOB    PRIMARY KEY,
    family     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX refresh_legacy_expires ON refresh_legacy(expires_at);
INSERT INTO refresh_legacy (hash, family, expires_at)
SELECT t.hash, t.family, (SELECT max(f.expires_at) FROM refresh_families f WHERE f.legacy = t.family)
FROM refresh_tokens t
WHERE t.revoked_at = 0 AND EXISTS (SELECT 1 FROM refresh_families f WHERE f.legacy = t.family);

DROP TABLE refresh_tokens;

-- +goose Down
-- Back to a row per token: each family's current token keeps working;
-- the reuse detection of earlier generations is lost.
CREATE TABLE refresh_tokens (
    hash          BLOB    PRIMARY KEY,
    family        TEXT    NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    rotated_at    INTEGER NOT NULL DEFAULT 0,
    revoked_at    INTEGER NOT NULL DEFAULT 0,
    token_version INTEGER NOT NULL DEFAULT 0,
    actor_id      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family);
CREATE INDEX refresh_tokens_user_client ON refresh_tokens(user_id, client_id);
INSERT INTO refresh_tokens (hash, family, user_id, client_id, created_at, expires_at, rotated_at, revoked_at, token_version, actor_id)
SELECT hash, CASE WHEN legacy <> '' THEN legacy ELSE hex(id) END, user_id, client_id, issued_at, expires_at, 0, revoked_at,
       token_version, actor_id
FROM refresh_families;
INSERT INTO refresh_tokens (hash, family, user_id, client_id, created_at, expires_at, rotated_at, revoked_at, token_version, actor_id)
SELECT l.hash, l.family, f.user_id, f.client_id, f.created_at, l.expires_at, f.issued_at, f.revoked_at, f.token_version, f.actor_id
FROM refresh_legacy l JOIN refresh_families f ON f.legacy = l.family
WHERE l.hash <> f.hash;
DROP TABLE refresh_legacy;
DROP TABLE refresh_families;
