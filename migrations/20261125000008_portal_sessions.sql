-- Portal sign-in sessions (tower-sessions records). The cookie carries the session id; the
-- database keeps only its SHA-256, so a copy of this table cannot be replayed as cookies.
CREATE TABLE portal_sessions (
    id_hash    TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_sessions_expires_at ON portal_sessions (expires_at);
