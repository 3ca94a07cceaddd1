-- Webhooks: endpoints per application, the outbox of events, one delivery per (event,
-- endpoint) and every attempt. Same portable subset as the foundation (TEXT ids and enums
-- with CHECKs, BIGINT times, no BOOLEAN).

-- A partner's receiver. `partner_id` is the tenant (partner slug) whose sandbox events it
-- gets; `event_types` is the subscribed types, space-separated with a space at both ends
-- (so `LIKE '% order.created %'` matches one type exactly). The signing secrets are sealed
-- with the master key (they must be usable for signing, so they cannot be hashed); during a
-- rotation the previous one stays in force until `previous_secret_until` (unix seconds).
CREATE TABLE webhook_endpoints (
    id                     TEXT PRIMARY KEY,
    application_id         TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    partner_id             TEXT NOT NULL,
    url                    TEXT NOT NULL,
    description            TEXT NOT NULL,
    event_types            TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    -- Why it is disabled: 'partner' (switched off in the portal) or 'failing' (5 days of
    -- failed deliveries).
    disabled_reason        TEXT,
    secret_sealed          TEXT NOT NULL,
    previous_secret_sealed TEXT,
    previous_secret_until  BIGINT,
    -- Start of the current run of failed attempts, unix milliseconds (NULL after a success).
    failing_since          BIGINT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_partner ON webhook_endpoints (partner_id);
CREATE INDEX webhook_endpoints_application ON webhook_endpoints (application_id);

-- The outbox: one row per event, written in the same transaction as the change that caused
-- it. `payload` is the exact body sent (its bytes are what is signed).
CREATE TABLE webhook_messages (
    id         TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_messages_partner ON webhook_messages (partner_id, created_at);

-- One per (message, endpoint): the retry state. Times in unix milliseconds. A worker claims a
-- due row by setting `claimed_until` (a lease: if the worker dies, the row is due again when
-- it lapses, and is sent again with the same webhook-id).
CREATE TABLE webhook_deliveries (
    message_id      TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (message_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

-- Every attempt, for the delivery log (time and latency in milliseconds; the first 1 KiB of
-- the response body).
CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    message_id       TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    attempted_at     BIGINT NOT NULL,
    status_code      BIGINT,
    latency_ms       BIGINT NOT NULL,
    response_excerpt TEXT NOT NULL,
    error            TEXT,
    succeeded        BIGINT NOT NULL CHECK (succeeded IN (0, 1))
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, attempted_at);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, attempted_at);
