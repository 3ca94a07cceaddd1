//! Partner organisations (the tenants): the stored partner with its slug and status
//! ([`partners`]), and the portal's organisation life cycle ([`organisations`]): creation with
//! the data-protection attestation, members and roles, invitations, admin review (approve,
//! reject, suspend) and production access.
//!
//! Invariant: a partner's slug is its tenant id everywhere (tokens, request log, sandbox data)
//! and never changes.

pub mod federation;
pub mod organisations;
pub mod partners;
