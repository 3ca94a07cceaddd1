-- Usage plans as data, per-application overrides and IP allowlists (gateway steps 4-6).
-- Same portable subset as the foundation: TEXT enums with CHECK constraints, BIGINT numbers,
-- no BOOLEAN columns.

CREATE TABLE usage_plans (
    name            TEXT PRIMARY KEY,
    description     TEXT NOT NULL DEFAULT '',
    -- Token bucket: refill rate (requests per second) and capacity (burst).
    rate_per_second BIGINT NOT NULL CHECK (rate_per_second > 0),
    burst           BIGINT NOT NULL CHECK (burst > 0),
    -- Requests per UTC calendar period.
    quota           BIGINT NOT NULL CHECK (quota > 0),
    quota_period    TEXT NOT NULL CHECK (quota_period IN ('day', 'month')),
    -- Whether calls must carry the application's `x-api-key`.
    api_key         TEXT NOT NULL CHECK (api_key IN ('required', 'optional'))
);

-- `sandbox` is the default plan of new applications (applications.usage_plan DEFAULT 'sandbox').
INSERT INTO usage_plans (name, description, rate_per_second, burst, quota, quota_period, api_key)
VALUES ('sandbox', 'Default plan for trying the sandbox: 25 requests/s, bursts of 50, 1,000 requests per day; API key optional.', 25, 50, 1000, 'day', 'optional');
INSERT INTO usage_plans (name, description, rate_per_second, burst, quota, quota_period, api_key)
VALUES ('standard', 'Standard partners: 50 requests/s, bursts of 100, 10,000 requests per month; API key required.', 50, 100, 10000, 'month', 'required');
INSERT INTO usage_plans (name, description, rate_per_second, burst, quota, quota_period, api_key)
VALUES ('premium', 'Premium partners: 200 requests/s, bursts of 400, 100,000 requests per month; API key required.', 200, 400, 100000, 'month', 'required');

-- Per-application overrides: NULL means "as the plan says".
CREATE TABLE application_limits (
    application_id  TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    rate_per_second BIGINT CHECK (rate_per_second > 0),
    burst           BIGINT CHECK (burst > 0),
    quota           BIGINT CHECK (quota > 0),
    quota_period    TEXT CHECK (quota_period IN ('day', 'month')),
    api_key         TEXT CHECK (api_key IN ('required', 'optional')),
    updated_at      BIGINT NOT NULL
);

-- Client networks allowed to call with this application's tokens: CIDRs separated by single
-- spaces, normalised by the application; empty means any address.
ALTER TABLE applications ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '';
