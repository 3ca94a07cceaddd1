-- Every gateway request (sandbox and production stage): the partner's own request log and the
-- audit trail of API use. Written in batches, off the request path.
CREATE TABLE request_log (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    stage       TEXT NOT NULL,
    client_id   TEXT,
    partner_id  TEXT,
    scopes      TEXT,
    method      TEXT NOT NULL,
    route       TEXT NOT NULL,
    action      TEXT,
    decision    TEXT NOT NULL,
    reason      TEXT,
    status      BIGINT NOT NULL,
    latency_us  BIGINT NOT NULL,
    version     TEXT,
    client_ip   TEXT
);
CREATE INDEX request_log_partner ON request_log (partner_id, occurred_at);
CREATE INDEX request_log_occurred_at ON request_log (occurred_at);
