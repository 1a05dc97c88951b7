-- +goose Up
-- Every change to what the server caches for bearer checks (users, their
-- roles and businesses, businesses, revoked tokens) notifies the channel
-- spaceauth_state. NOTIFY is delivered on commit, so a process that hears it
-- drops entries read before the change; a process that is not listening
-- does not cache at all.
-- +goose StatementBegin
CREATE FUNCTION spaceauth_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('spaceauth_state', '');
	RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER users_state AFTER UPDATE OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION spaceauth_state_changed();
CREATE TRIGGER roles_state AFTER INSERT OR DELETE ON user_roles FOR EACH STATEMENT EXECUTE FUNCTION spaceauth_state_changed();
CREATE TRIGGER profiles_state AFTER INSERT OR DELETE ON profiles FOR EACH STATEMENT EXECUTE FUNCTION spaceauth_state_changed();
CREATE TRIGGER businesses_state AFTER UPDATE OR DELETE ON businesses FOR EACH STATEMENT EXECUTE FUNCTION spaceauth_state_changed();
CREATE TRIGGER revoked_state AFTER INSERT ON revoked_tokens FOR EACH STATEMENT EXECUTE FUNCTION spaceauth_state_changed();

-- +goose Down
DROP TRIGGER users_state ON users;
DROP TRIGGER roles_state ON user_roles;
DROP TRIGGER profiles_state ON profiles;
DROP TRIGGER businesses_state ON businesses;
DROP TRIGGER revoked_state ON revoked_tokens;
DROP FUNCTION spaceauth_state_changed();
