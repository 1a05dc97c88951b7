-- +goose Up
-- Who holds a message's lease: a token each claim makes. Recording the
-- outcome of a send requires it, so a worker whose lease ran out and was
-- taken over can no longer settle (or re-send) the message (SPEC §7).
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN lease_owner;
