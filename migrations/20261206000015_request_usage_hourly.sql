-- Hourly rollups of the request log, for usage charts and the monthly metering export: one
-- row per hour and (partner, application, stage, operation, version, status class, outcome),
-- with a latency histogram for percentiles. Built from closed hours by a background job
-- (`core::request_usage`); `request_usage_progress` remembers the first hour not rolled up yet.
-- Kept longer than the raw log (billing looks back a year).
CREATE TABLE request_usage_hourly (
    hour          BIGINT NOT NULL,
    partner_id    TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    stage         TEXT NOT NULL,
    action        TEXT NOT NULL,
    version       TEXT NOT NULL,
    status_class  BIGINT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied', 'throttled')),
    calls         BIGINT NOT NULL,
    latency_us_total BIGINT NOT NULL,
    -- Calls by latency: at most 5 ms, 25 ms, 100 ms, 500 ms, 2.5 s, and slower.
    latency_le_5ms    BIGINT NOT NULL,
    latency_le_25ms   BIGINT NOT NULL,
    latency_le_100ms  BIGINT NOT NULL,
    latency_le_500ms  BIGINT NOT NULL,
    latency_le_2500ms BIGINT NOT NULL,
    latency_over      BIGINT NOT NULL,
    PRIMARY KEY (hour, partner_id, client_id, stage, action, version, status_class, outcome)
);
CREATE INDEX request_usage_hourly_partner ON request_usage_hourly (partner_id, hour);

CREATE TABLE request_usage_progress (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    next_hour  BIGINT NOT NULL
);
