-- Identity federation: an organisation's own identity provider (IdP), whose signed JWTs stand
-- for one of the organisation's applications once an admin approved the IdP. Same portable
-- subset as the foundation (TEXT ids and enums with CHECKs, BIGINT times, no BOOLEAN).

-- One IdP per organisation. `issuer` is compared exactly with a JWT's `iss`; the keys come
-- from `jwks_url`; a JWT's `aud` must be `audience`; `workload_claim` names the claim whose
-- value says which application the JWT stands for. Changing issuer, JWKS URL, audience or
-- claim sends an approved IdP back to 'pending'. `direct_access` (0/1): the gateway accepts the
-- IdP's JWTs directly, without an exchange at the token endpoint.
CREATE TABLE federation_idps (
    id             TEXT PRIMARY KEY,
    partner_id     TEXT NOT NULL UNIQUE REFERENCES partners (id),
    issuer         TEXT NOT NULL,
    jwks_url       TEXT NOT NULL,
    audience       TEXT NOT NULL,
    workload_claim TEXT NOT NULL,
    direct_access  BIGINT NOT NULL DEFAULT 0,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decision_note  TEXT,
    decided_by     TEXT,
    decided_at     BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX federation_idps_issuer ON federation_idps (issuer);

-- Workload claim value → application (of the IdP's organisation).
CREATE TABLE federation_mappings (
    idp_id         TEXT NOT NULL REFERENCES federation_idps (id) ON DELETE CASCADE,
    claim_value    TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (idp_id, claim_value)
);
