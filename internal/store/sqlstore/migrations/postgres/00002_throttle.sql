-- +goose Up
-- Failure and request counters for throttling, shared by every process
-- that uses this database.
CREATE TABLE throttle (
    key          TEXT    PRIMARY KEY,
    count        BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    last_at      BIGINT NOT NULL
);

-- +goose Down
DROP TABLE throttle;
