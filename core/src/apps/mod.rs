//! Applications: a partner organisation's OAuth clients and everything attached to them.
//!
//! - [`applications`]: the stored application (client id, status, granted scopes) and the
//!   lookups the token server and gateway use;
//! - [`manage`]: what members do in the portal (register, settings, suspend, reactivate, delete);
//! - [`credentials`]: client secrets and API keys, with the one rule that at most
//!   [`credentials::MAX_LIVE`] of each kind are live at once (rotation without downtime);
//! - [`client_keys`]: private_key_jwt public keys, `jwks_uri`, and "private_key_jwt only";
//! - [`scope_requests`], [`preferences`] (provider preferences), [`plans`] (usage plans, IP
//!   allowlists, API-key requirements), [`access`] (who may act on an application),
//!   [`reveal`] (credentials shown once), [`demo`] (the demo partner and application).
//!
//! Every portal write here takes an [`ActorContext`](crate::identity::ActorContext), checks
//! access through [`access`] and writes its audit record in the same transaction.

pub mod access;
pub mod applications;
pub mod client_keys;
pub mod credentials;
pub mod demo;
pub mod dpop;
pub mod leaks;
pub mod manage;
pub mod plans;
pub mod preferences;
pub mod reveal;
pub mod scope_requests;
