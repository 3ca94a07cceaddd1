-- The request log loses its generated text key. Nothing referred to a row by it (rows are read
-- by partner and time), yet every row paid for it twice: making the id, and keeping a third
-- B-tree (SQLite's index behind a TEXT PRIMARY KEY), which made the audit writer the largest
-- single cost of a gateway request after the kernel's. Rows are copied in time order, so on
-- SQLite the implicit rowid follows time as before.
CREATE TABLE request_log_next (
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
INSERT INTO request_log_next (request_id, occurred_at, stage, client_id, partner_id, scopes,
    method, route, action, decision, reason, status, latency_us, version, client_ip)
SELECT request_id, occurred_at, stage, client_id, partner_id, scopes, method, route, action,
    decision, reason, status, latency_us, version, client_ip
FROM request_log ORDER BY occurred_at, id;
DROP TABLE request_log;
ALTER TABLE request_log_next RENAME TO request_log;
CREATE INDEX request_log_partner ON request_log (partner_id, occurred_at);
CREATE INDEX request_log_occurred_at ON request_log (occurred_at);
