-- +goose Up
-- Failure and request counters for throttling, shared by every process
-- that uses this database.
CREATE TABLE throttle (
    key          TEXT    PRIMARY KEY,
    count        INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    last_at      INTEGER NOT NULL
);

-- +goose Down
DROP TABLE throttle;
