-- +goose Up
-- Who holds a message's lease: a token each claim makes. Recording the
-- outcome of a send requires it, so a worker whose lease ran out and was
-- taken over can no longer settle (or re-send) the message (SPEC §7).
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';

-- One row that readiness and start-up rewrite in a transaction: proof that
-- the database takes writes, not only reads (issue #11.6).
CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
INSERT INTO heartbeat (id, at) VALUES (1, 0);

-- +goose Down
DROP TABLE heartbeat;
ALTER TABLE outbox DROP COLUMN lease_owner;
