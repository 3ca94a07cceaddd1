-- Portico foundation schema.
-- Written in the SQL subset shared by SQLite and PostgreSQL: TEXT ids (time-ordered, made by the
-- application), BIGINT unix-second timestamps, TEXT enums with CHECK constraints and no BOOLEAN
-- columns (sqlx's Any driver cannot decode SQLite booleans). The same file runs on both engines.

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE partners (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'suspended')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'partner')),
    partner_id    TEXT REFERENCES partners (id),
    password_hash TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX users_partner_id ON users (partner_id);

-- One-time sign-in links (bootstrap admin, `portico admin create`). Only the SHA-256 is kept.
CREATE TABLE sign_in_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX sign_in_tokens_user_id ON sign_in_tokens (user_id);

CREATE TABLE applications (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL UNIQUE,
    partner_id TEXT NOT NULL REFERENCES partners (id),
    name       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    -- Approved scopes, space-separated (RFC 6749 scope syntax).
    scopes     TEXT NOT NULL DEFAULT '',
    usage_plan TEXT NOT NULL DEFAULT 'sandbox',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (partner_id, name)
);

-- At most two live secrets per application (primary + secondary) for zero-downtime rotation;
-- the limit is enforced by the domain code inside the creating transaction.
CREATE TABLE client_secrets (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    secret_hash    TEXT NOT NULL UNIQUE,
    hint           TEXT NOT NULL,
    slot           TEXT NOT NULL CHECK (slot IN ('primary', 'secondary')),
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT,
    expires_at     BIGINT,
    revoked_at     BIGINT
);
CREATE INDEX client_secrets_application_id ON client_secrets (application_id);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    key_hash       TEXT NOT NULL UNIQUE,
    hint           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT,
    revoked_at     BIGINT
);
CREATE INDEX api_keys_application_id ON api_keys (application_id);

-- Token signing keys. The private half is sealed (encrypted) by the application before it is
-- stored; `public_jwk` is what /.well-known/jwks.json publishes.
CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY,
    alg                TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('next', 'active', 'retiring', 'retired')),
    public_jwk         TEXT NOT NULL,
    private_key_sealed TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    activated_at       BIGINT,
    retiring_at        BIGINT,
    retired_at         BIGINT
);
CREATE INDEX signing_keys_state ON signing_keys (state);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    occurred_at BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    partner_id  TEXT,
    request_id  TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
CREATE INDEX audit_events_partner_id ON audit_events (partner_id, occurred_at);
