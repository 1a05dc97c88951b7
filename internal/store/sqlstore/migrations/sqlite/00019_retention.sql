-- +goose Up
-- Retention (issue #17): the pruner deletes the rows that can no longer
-- matter, found by the column that says so (an expiry, a revocation, the
-- last event of a throttle window, a settled message). These indexes let
-- each batch find its rows without scanning the table. oidc_flows,
-- webauthn_challenges (expires_at) and audit_events (at) have theirs.
CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);
CREATE INDEX spent_tokens_expiry ON spent_tokens(expires_at);
CREATE INDEX sessions_expiry ON sessions(expires_at);
-- Partial: the live sessions, which are most of the table, stay out of it.
CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at <> 0;
CREATE INDEX reset_tokens_expiry ON reset_tokens(expires_at);
CREATE INDEX otp_codes_expiry ON otp_codes(expires_at);
CREATE INDEX twofactor_pending_expiry ON twofactor_pending(expires_at);
CREATE INDEX throttle_last ON throttle(last_at);
-- Partial: only settled messages; the claim has outbox_due for the others.
CREATE INDEX outbox_settled ON outbox(created_at) WHERE sent_at <> 0 OR dead <> 0;

-- +goose Down
DROP INDEX outbox_settled;
DROP INDEX throttle_last;
DROP INDEX twofactor_pending_expiry;
DROP INDEX otp_codes_expiry;
DROP INDEX reset_tokens_expiry;
DROP INDEX sessions_revoked;
DROP INDEX sessions_expiry;
DROP INDEX spent_tokens_expiry;
DROP INDEX revoked_tokens_expiry;
