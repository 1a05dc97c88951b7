-- +goose Up
-- A counter that moves, in the same transaction, with every change to what
-- the server caches for bearer checks (users, their roles and businesses,
-- businesses, revoked tokens). A cached entry is good while the counter
-- still reads what it read when the entry was made; CLI commands and other
-- processes writing the file move it too.
CREATE TABLE state_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO state_epoch (id, n) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER users_epoch_u AFTER UPDATE ON users BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_epoch_d AFTER DELETE ON users BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER roles_epoch_i AFTER INSERT ON user_roles BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER roles_epoch_d AFTER DELETE ON user_roles BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER profiles_epoch_i AFTER INSERT ON profiles BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER profiles_epoch_d AFTER DELETE ON profiles BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER businesses_epoch_u AFTER UPDATE ON businesses BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER businesses_epoch_d AFTER DELETE ON businesses BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER revoked_epoch_i AFTER INSERT ON revoked_tokens BEGIN UPDATE state_epoch SET n = n + 1 WHERE id = 1; END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_epoch_u;
DROP TRIGGER users_epoch_d;
DROP TRIGGER roles_epoch_i;
DROP TRIGGER roles_epoch_d;
DROP TRIGGER profiles_epoch_i;
DROP TRIGGER profiles_epoch_d;
DROP TRIGGER businesses_epoch_u;
DROP TRIGGER businesses_epoch_d;
DROP TRIGGER revoked_epoch_i;
DROP TABLE state_epoch;
