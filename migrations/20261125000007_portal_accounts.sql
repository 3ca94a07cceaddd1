-- Portal accounts, organisations, application management and the admin audit trail (issue #5).
-- Same portable subset as the foundation: TEXT ids, BIGINT unix seconds, TEXT enums with CHECK,
-- no BOOLEAN columns; only new tables and added columns, so it runs unchanged on SQLite and
-- PostgreSQL.

-- Organisation membership lives on the user row: `users.partner_id` (already there) names the
-- organisation and `partner_role` the member's role in it, so a user belongs to at most one
-- organisation by construction. Both are NULL for users without an organisation (and admins).
ALTER TABLE users ADD COLUMN partner_role TEXT CHECK (partner_role IN ('owner', 'developer', 'viewer'));
ALTER TABLE users ADD COLUMN password_changed_at BIGINT;

-- External identities (OpenID Connect `iss` + `sub`) linked to a user.
CREATE TABLE sso_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_user_id ON sso_identities (user_id);

-- Failed sign-ins per subject: `email:<normalised address>` or `addr:<client address>`.
-- Five failures within 15 minutes block the subject, 30 s doubling per further failure, at
-- most 15 minutes.
CREATE TABLE sign_in_failures (
    subject          TEXT PRIMARY KEY,
    failures         BIGINT NOT NULL,
    first_failure_at BIGINT NOT NULL,
    last_failure_at  BIGINT NOT NULL,
    blocked_until    BIGINT NOT NULL DEFAULT 0
);

-- Organisation details: legal name, contact, the data-handling attestation (which text
-- version, who, when) and the latest admin decision.
ALTER TABLE partners ADD COLUMN legal_name TEXT;
ALTER TABLE partners ADD COLUMN contact_email TEXT;
ALTER TABLE partners ADD COLUMN created_by TEXT;
ALTER TABLE partners ADD COLUMN attestation_version TEXT;
ALTER TABLE partners ADD COLUMN attested_by TEXT;
ALTER TABLE partners ADD COLUMN attested_at BIGINT;
ALTER TABLE partners ADD COLUMN decision TEXT CHECK (decision IN ('approved', 'rejected', 'suspended'));
ALTER TABLE partners ADD COLUMN decided_by TEXT;
ALTER TABLE partners ADD COLUMN decided_at BIGINT;
ALTER TABLE partners ADD COLUMN decision_note TEXT;

-- Invitations into an organisation: a one-use link token, stored as SHA-256 only.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    partner_id  TEXT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    -- NULL: anyone holding the link may accept.
    email       TEXT,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer')),
    invited_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_by TEXT,
    accepted_at BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX invitations_partner_id ON invitations (partner_id, created_at);

-- Applications as partners register them: description, who registered, production access
-- (granted by an admin: who and when; NULL = none) and who suspended it.
ALTER TABLE applications ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN created_by TEXT;
ALTER TABLE applications ADD COLUMN production_granted_by TEXT;
ALTER TABLE applications ADD COLUMN production_granted_at BIGINT;
ALTER TABLE applications ADD COLUMN suspended_by TEXT;
ALTER TABLE applications ADD COLUMN suspended_at BIGINT;
-- 'admin' suspensions can only be lifted by an admin.
ALTER TABLE applications ADD COLUMN suspension_source TEXT CHECK (suspension_source IN ('member', 'admin'));

-- API keys get primary/secondary slots like client secrets (at most two live keys).
ALTER TABLE api_keys ADD COLUMN slot TEXT NOT NULL DEFAULT 'primary' CHECK (slot IN ('primary', 'secondary'));

-- Scope requests: one row per (application, scope) asked for; approval adds the scope to
-- applications.scopes in the same transaction.
CREATE TABLE scope_requests (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'revoked', 'withdrawn')),
    reason         TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    requested_at   BIGINT NOT NULL,
    decided_by     TEXT,
    decided_at     BIGINT,
    decision_note  TEXT
);
CREATE INDEX scope_requests_status ON scope_requests (status, requested_at);
CREATE INDEX scope_requests_application_id ON scope_requests (application_id, requested_at);
CREATE UNIQUE INDEX scope_requests_one_pending ON scope_requests (application_id, scope) WHERE status = 'pending';

-- The audit trail also says who acted by email and from which address.
ALTER TABLE audit_events ADD COLUMN actor_email TEXT;
ALTER TABLE audit_events ADD COLUMN client_addr TEXT;
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
