-- private_key_jwt (RFC 7523 §2.2, OIDC Core §9): the public keys an application signs its
-- client assertions with, where else its keys may be fetched from, and whether it still accepts
-- client secrets. Same portable subset as the foundation (TEXT enums with CHECKs, BIGINT
-- times, no BOOLEAN).

-- A registered public key (JWK, public members only). `thumbprint` is its RFC 7638 SHA-256
-- thumbprint: the same key cannot be registered twice for one application.
CREATE TABLE client_keys (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kid            TEXT,
    thumbprint     TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    UNIQUE (application_id, thumbprint)
);
CREATE INDEX client_keys_application_id ON client_keys (application_id);

-- How an application authenticates at the token endpoint: `secret_or_key` (a client secret,
-- or private_key_jwt once a key is registered) or `private_key_jwt` (secrets refused; none
-- are left). No row means `secret_or_key` without a jwks_uri.
CREATE TABLE client_auth_settings (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    method         TEXT NOT NULL DEFAULT 'secret_or_key' CHECK (method IN ('secret_or_key', 'private_key_jwt')),
    jwks_uri       TEXT,
    updated_at     BIGINT NOT NULL
);

-- Client assertions already used, by (client, jti): each is accepted once, by whichever replica
-- sees it first. Rows go once the assertion has expired.
CREATE TABLE used_client_assertions (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_client_assertions_expires_at ON used_client_assertions (expires_at);
