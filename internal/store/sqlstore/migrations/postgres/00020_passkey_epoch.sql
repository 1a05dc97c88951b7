-- +goose Up
-- The state cache serves a passkey sign-in's credential lookup (SPEC §9,
-- issue 14), so removing a passkey, or changing a cached part of one,
-- notifies spaceauth_state like the changes of migration 00007. The
-- signature counter and last use are not cached as the truth (the
-- sign-in's transaction checks the column), so moving them, on every
-- sign-in, notifies nobody.
CREATE TRIGGER passkeys_state_d AFTER DELETE ON passkeys FOR EACH STATEMENT EXECUTE FUNCTION spaceauth_state_changed();
CREATE TRIGGER passkeys_state_u AFTER UPDATE OF user_id, rp_id, credential_id, data ON passkeys FOR EACH STATEMENT EXECUTE FUNCTION spaceauth_state_changed();

-- +goose Down
DROP TRIGGER passkeys_state_u ON passkeys;
DROP TRIGGER passkeys_state_d ON passkeys;
