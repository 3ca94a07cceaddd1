-- Synthetic sandbox data (portable SQL: TEXT and BIGINT only, same file on SQLite and PostgreSQL).
--
-- Objects live per (partner tenant, API version, collection). Shared collections (e.g. the
-- product catalogue) use the tenant id '*'. `seq` orders a collection (seed items 1..n, then
-- created ones; concurrent creates may share a seq, so ties are broken by `id`) and is what
-- list cursors point at. `revision` guards read-modify-write updates (compare-and-swap).
CREATE TABLE sandbox_objects (
    tenant_id  TEXT NOT NULL,
    version    TEXT NOT NULL,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    revision   BIGINT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version, collection, id)
);
CREATE INDEX sandbox_objects_order ON sandbox_objects (tenant_id, version, collection, seq, id);
-- Who owns an id, whoever asks (the gateway builds the Cedar resource with the real owner).
CREATE INDEX sandbox_objects_by_id ON sandbox_objects (version, collection, id);

-- A row here means the collection's seed data has been generated for this tenant; deleting it
-- (with the objects) brings the seed data back on the next request.
CREATE TABLE sandbox_seeded (
    tenant_id  TEXT NOT NULL,
    version    TEXT NOT NULL,
    collection TEXT NOT NULL,
    seeded_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version, collection)
);

-- Idempotency-Key records: the SHA-256 of the request (operation + canonical JSON body) and
-- the response that was sent, replayed for a retry with the same key and body.
CREATE TABLE sandbox_idempotency (
    tenant_id       TEXT NOT NULL,
    version         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    status          BIGINT NOT NULL,
    response_body   TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version, idempotency_key)
);
CREATE INDEX sandbox_idempotency_created_at ON sandbox_idempotency (created_at);
