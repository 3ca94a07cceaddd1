-- The status page: synthetic probe results, their daily rollup, incidents and maintenance.
-- Same portable subset as the foundation (TEXT ids and enums with CHECKs, BIGINT times).

-- One row per probe of one component (kept 7 days; the probe job purges older rows in
-- bounded batches). `checked_at` is unix milliseconds.
CREATE TABLE status_checks (
    id         TEXT PRIMARY KEY,
    component  TEXT NOT NULL,
    stage      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('operational', 'degraded', 'down')),
    latency_ms BIGINT NOT NULL,
    error      TEXT,
    checked_at BIGINT NOT NULL
);
CREATE INDEX status_checks_component_time ON status_checks (component, checked_at);
CREATE INDEX status_checks_time ON status_checks (checked_at);

-- Per component and UTC day (days since 1970-01-01): how many probes there were and how many
-- found it operational / degraded. Kept 90 days; the 90-day bars read only this table.
CREATE TABLE status_daily (
    component      TEXT NOT NULL,
    day            BIGINT NOT NULL,
    stage          TEXT NOT NULL,
    ok_count       BIGINT NOT NULL,
    degraded_count BIGINT NOT NULL,
    total          BIGINT NOT NULL,
    PRIMARY KEY (component, day)
);

-- Incidents and scheduled maintenance, posted by admins.
CREATE TABLE status_incidents (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    title       TEXT NOT NULL,
    impact      TEXT NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical')),
    -- The status of the latest update.
    status      TEXT NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved', 'scheduled', 'in_progress', 'completed')),
    -- Maintenance windows (unix seconds); NULL for incidents.
    starts_at   BIGINT,
    ends_at     BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    -- Set by the update that resolves (or completes) it.
    resolved_at BIGINT,
    created_by  TEXT NOT NULL
);
CREATE INDEX status_incidents_created ON status_incidents (created_at);

CREATE TABLE status_incident_components (
    incident_id TEXT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    component   TEXT NOT NULL,
    PRIMARY KEY (incident_id, component)
);

CREATE TABLE status_incident_updates (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX status_incident_updates_incident ON status_incident_updates (incident_id, created_at);

-- One row: the process that runs the probes now. Every process with the portal front tries to
-- take or renew it before each pass; only the holder probes, so several portal replicas probe
-- once, not once each, and another takes over when the holder stops renewing.
CREATE TABLE status_probe_lease (
    id         BIGINT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
