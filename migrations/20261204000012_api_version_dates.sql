-- Admin overrides of an API version's lifecycle dates. The model files give each version's
-- dates (x-ga, x-deprecated-since, x-sunset); a row here replaces each date it sets (NULL
-- means "as the model says"). Dates are YYYY-MM-DD. Every change is also an audit event.
CREATE TABLE api_version_dates (
    version          TEXT PRIMARY KEY,
    ga               TEXT,
    deprecated_since TEXT,
    sunset           TEXT,
    updated_at       BIGINT NOT NULL,
    updated_by       TEXT NOT NULL
);
