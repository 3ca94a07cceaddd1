-- The request log is split in two. Most of a record repeats from call to call: one
-- application calling one operation with one outcome gives the same stage, client, scopes,
-- route, action, decision, reason and version every time. Those now live once in
-- request_context; each call keeps only what varies (request_log_entry). A row shrinks from
-- ~270 to ~120 bytes on SQLite, and the audit writer binds 8 values per call instead of 15.
--
-- A context's id is derived from its fields by the writer (the first 63 bits of a SHA-256), so
-- every process names a context alike without a round trip. Rows migrated from the old table
-- get one context each, with negative ids the writer never produces.
--
-- `request_log` stays readable under its old name and columns, as a view.
CREATE TABLE request_context (
    id          BIGINT PRIMARY KEY,
    stage       TEXT NOT NULL,
    client_id   TEXT,
    scopes      TEXT,
    route       TEXT NOT NULL,
    action      TEXT,
    decision    TEXT NOT NULL,
    reason      TEXT,
    version     TEXT
);
CREATE TABLE request_log_entry (
    request_id  TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    context_id  BIGINT NOT NULL,
    -- Kept here as well as implied by the context: the partner's log is read by time.
    partner_id  TEXT,
    method      TEXT NOT NULL,
    status      BIGINT NOT NULL,
    latency_us  BIGINT NOT NULL,
    client_ip   TEXT
);

CREATE TABLE request_log_numbered AS
SELECT ROW_NUMBER() OVER (ORDER BY occurred_at, request_id) AS n, request_id, occurred_at,
    stage, client_id, partner_id, scopes, method, route, action, decision, reason, status,
    latency_us, version, client_ip
FROM request_log;
INSERT INTO request_context (id, stage, client_id, scopes, route, action, decision, reason, version)
SELECT -n, stage, client_id, scopes, route, action, decision, reason, version
FROM request_log_numbered;
INSERT INTO request_log_entry (request_id, occurred_at, context_id, partner_id, method, status,
    latency_us, client_ip)
SELECT request_id, occurred_at, -n, partner_id, method, status, latency_us, client_ip
FROM request_log_numbered ORDER BY n;
DROP TABLE request_log_numbered;
DROP TABLE request_log;

CREATE INDEX request_log_entry_partner ON request_log_entry (partner_id, occurred_at);
CREATE INDEX request_log_entry_occurred_at ON request_log_entry (occurred_at);

-- A left join: an entry whose context went missing still shows, with its own fields.
CREATE VIEW request_log AS
SELECT e.request_id, e.occurred_at, c.stage, c.client_id, e.partner_id, c.scopes, e.method,
    c.route, c.action, c.decision, c.reason, e.status, e.latency_us, c.version, e.client_ip
FROM request_log_entry e
LEFT JOIN request_context c ON c.id = e.context_id;
