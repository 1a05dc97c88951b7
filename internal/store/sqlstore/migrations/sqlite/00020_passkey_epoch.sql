-- +goose Up
-- The state cache serves a passkey sign-in's credential lookup (SPEC §9,
-- issue 14), so the state epoch moves when a cached part of a passkey
-- changes: a removed passkey (or a removed user's) is refused at once, in
-- this process or any other. The signature counter and last use are not
-- cached as the truth (the sign-in's transaction checks the column), so
-- moving them, on every sign-in, leaves the epoch alone.
-- +goose StatementBegin
CREATE TRIGGER passkeys_epoch_d AFTER DELETE ON passkeys BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER passkeys_epoch_u AFTER UPDATE OF user_id, rp_id, credential_id, data ON passkeys BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER passkeys_epoch_u;
DROP TRIGGER passkeys_epoch_d;
