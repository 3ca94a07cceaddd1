-- DPoP (RFC 9449): an application may require sender-constrained tokens. When set (the time
-- it was switched on), the token endpoint refuses token requests without a DPoP proof and the
-- gateway refuses the application's unbound tokens and demands server nonces in proofs.
-- NULL = DPoP optional. No BOOLEAN columns (see the foundation migration).
ALTER TABLE applications ADD COLUMN dpop_required_at BIGINT;
