-- Applications' provider preferences for quote packages, as JSON:
-- {"blocked_providers": [...], "allowed_providers": [...] | null, "max_providers": n | null}.
ALTER TABLE applications ADD COLUMN provider_preferences TEXT NOT NULL DEFAULT '{}';
