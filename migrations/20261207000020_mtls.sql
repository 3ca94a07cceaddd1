-- RFC 8705 mutual TLS: an application's certificate authentication at the token endpoint
-- (`tls_client_auth`: the CA-issued certificate must carry this subject DN or SAN;
-- `self_signed_tls_client_auth`: one of the pinned certificates or keys) and whether tokens
-- of requests authenticated otherwise are bound to the presented certificate too. At most one
-- row per application; no row = no certificate authentication. TEXT enums with CHECK
-- constraints and no BOOLEAN columns, as everywhere.
CREATE TABLE application_tls_auth (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    method         TEXT CHECK (method IN ('tls_client_auth', 'self_signed_tls_client_auth')),
    subject_kind   TEXT CHECK (subject_kind IN ('dn', 'dns', 'uri', 'email', 'ip')),
    subject_value  TEXT,
    -- Space-separated `x5t#S256:<thumbprint>` (a certificate) or `jkt:<thumbprint>` (a key).
    pinned         TEXT NOT NULL DEFAULT '',
    bound_tokens   BIGINT NOT NULL DEFAULT 0 CHECK (bound_tokens IN (0, 1)),
    updated_at     BIGINT NOT NULL
);
