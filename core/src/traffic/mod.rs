//! What partners' calls did: the request log the gateway writes ([`request_log`]), its
//! explanations and search for partners ([`partner_log`]), and the hourly usage rollups and
//! metering export ([`hourly_usage`]).

pub mod hourly_usage;
pub mod partner_log;
pub mod request_log;
