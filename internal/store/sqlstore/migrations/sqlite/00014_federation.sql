-- +goose Up
-- Federated sign-in (SPEC §8). Provider secrets (OIDC client secret, LDAP
-- service bind password) are sealed with the key-encryption key when one is
-- configured (sealed = 1). A federated identity links a provider's subject
-- to a user; OIDC flows hold the server-side half of an authorization code
-- flow (state and binding kept as hashes), single-use and expiring.
CREATE TABLE sso_providers (
    id                  INTEGER PRIMARY KEY,
    business_id         INTEGER NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
    kind                TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    issuer              TEXT    NOT NULL DEFAULT '',
    client_id           TEXT    NOT NULL DEFAULT '',
    logout_url          TEXT    NOT NULL DEFAULT '',
    ldap_url            TEXT    NOT NULL DEFAULT '',
    starttls            INTEGER NOT NULL DEFAULT 0,
    bind_dn_template    TEXT    NOT NULL DEFAULT '',
    search_base         TEXT    NOT NULL DEFAULT '',
    search_filter       TEXT    NOT NULL DEFAULT '',
    bind_dn             TEXT    NOT NULL DEFAULT '',
    secret              BLOB    NOT NULL,
    sealed              INTEGER NOT NULL DEFAULT 0,
    create_users        INTEGER NOT NULL DEFAULT 0,
    no_member_passwords INTEGER NOT NULL DEFAULT 0,
    no_admin_passwords  INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
);
CREATE INDEX sso_providers_business ON sso_providers(business_id);

CREATE TABLE federated_identities (
    provider_id  INTEGER NOT NULL REFERENCES sso_providers(id) ON DELETE CASCADE,
    subject      TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX federated_identities_user ON federated_identities(user_id);

CREATE TABLE oidc_flows (
    state_hash   BLOB    PRIMARY KEY,
    provider_id  INTEGER NOT NULL REFERENCES sso_providers(id) ON DELETE CASCADE,
    binding_hash BLOB    NOT NULL,
    nonce        TEXT    NOT NULL,
    verifier     TEXT    NOT NULL,
    redirect_url TEXT    NOT NULL DEFAULT '',
    language     TEXT    NOT NULL DEFAULT 'en',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    spent_at     INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX oidc_flows_expiry ON oidc_flows(expires_at);

CREATE TABLE sso_sessions (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    provider_id INTEGER NOT NULL REFERENCES sso_providers(id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE sso_sessions;
DROP TABLE oidc_flows;
DROP TABLE federated_identities;
DROP TABLE sso_providers;
